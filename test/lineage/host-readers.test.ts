import { describe, expect, it } from 'vitest';
import { buildLineage } from '../../src/lineage/model.js';
import {
  type GroupObservation,
  hostReaderGroups,
  type RoleReport,
  withHostReaderGroups,
} from '../../src/lineage/observations.js';
import { lineagePlan } from '../../src/lineage/plan.js';
import { LINEAGE_SETTINGS } from '../support/lineage.js';

const plan = lineagePlan(LINEAGE_SETTINGS, { bus: 'kafka', reportTtlMs: 15_000 });
const T0 = 1_700_000_000_000;

function statusReport(host: string, offsets: number[], at = T0): RoleReport {
  return {
    role: 'status',
    host,
    pid: 7,
    inFlight: 0,
    capacity: 64,
    at,
    readers: [
      {
        id: `pizza_status.host.${host}`,
        positions: offsets.map((offset, partition) => ({ topic: 'pizza-ordered', partition, offset })),
      },
    ],
  };
}

describe('host readers on the lineage page', () => {
  it('counts each host that reports its view as one instance, with its lag from its positions', () => {
    const reports = [
      statusReport('a', [30, 20]),
      statusReport('b', [25, 20]),
      statusReport('gone', [0, 0], T0 - 60_000),
    ];
    const model = buildLineage(
      {
        at: T0,
        topics: [
          { name: 'pizza-ordered', partitions: [0, 1].map((p) => ({ partition: p, start: 0, end: [30, 20][p] ?? 0 })) },
        ],
        groups: hostReaderGroups(reports, T0, 15_000),
        reports,
      },
      plan,
    );
    const status = model.services.find((service) => service.name === 'status');
    // The host that stopped reporting is no instance, and its lag is nobody's.
    expect(status?.instances).toBe(2);
    expect(status?.groups.map((group) => group.groupId)).toEqual(['pizza_status.host.a', 'pizza_status.host.b']);
    expect(status?.lag).toBe(5);
  });

  it('counts one pizza serve as one web instance, though it reads the logs and the sessions (issue 21)', () => {
    const serve = (host: string): RoleReport => ({
      role: 'serve',
      host,
      pid: 9,
      inFlight: 0,
      capacity: 0,
      at: T0,
      readers: [
        { id: `pizza_status-logs.host.${host}`, positions: [] },
        { id: `pizza_status-sessions.host.${host}`, positions: [] },
      ],
    });
    const webInstances = (reports: RoleReport[]) =>
      buildLineage({ at: T0, topics: [], groups: hostReaderGroups(reports, T0, 15_000), reports }, plan).services.find(
        (service) => service.name === 'web',
      )?.instances;
    expect(webInstances([serve('a')])).toBe(1);
    expect(webInstances([serve('a'), serve('b')])).toBe(2);
  });

  it('shows a host reader in place of a memberless Kafka group of the same name left from before', () => {
    const old: GroupObservation = {
      groupId: 'pizza_status.host.a',
      members: [],
      committed: [{ topic: 'pizza-ordered', partition: 0, offset: 3 }],
    };
    const other: GroupObservation = { groupId: 'pizza_bake', members: [], committed: [] };
    const merged = withHostReaderGroups([old, other], hostReaderGroups([statusReport('a', [30])], T0, 15_000));
    expect(merged.map((group) => [group.groupId, group.members.length, group.committed[0]?.offset])).toEqual([
      ['pizza_bake', 0, undefined],
      ['pizza_status.host.a', 1, 30],
    ]);
  });
});
