import { describe, expect, it } from 'vitest';
import { buildLineage } from '../../src/lineage/model.js';
import type { GroupObservation, LineageObservations, RoleReport } from '../../src/lineage/observations.js';
import { lineagePlan, serviceOfGroup } from '../../src/lineage/plan.js';
import { LINEAGE_SETTINGS } from '../support/lineage.js';

const SETTINGS = LINEAGE_SETTINGS;
const plan = lineagePlan(SETTINGS, { bus: 'kafka', reportTtlMs: 15_000 });
const T0 = 1_700_000_000_000;

function topic(name: string, ...ends: number[]) {
  return { name, partitions: ends.map((end, partition) => ({ partition, start: 0, end })) };
}

function group(groupId: string, members: number, committed: Record<string, number[]>): GroupObservation {
  return {
    groupId,
    // Members of different groups are different members, as Kafka's member ids are.
    members: Array.from({ length: members }, (_, index) => ({
      memberId: `${groupId}/m${index}`,
      clientId: `client-${index}`,
    })),
    committed: Object.entries(committed).flatMap(([name, offsets]) =>
      offsets.map((offset, partition) => ({ topic: name, partition, offset })),
    ),
  };
}

function report(role: string, inFlight: number, capacity: number, at = T0, host = 'h1'): RoleReport {
  return { role, host, pid: 1, inFlight, capacity, at };
}

function observe(overrides: Partial<LineageObservations> = {}): LineageObservations {
  return {
    at: T0,
    topics: [
      topic('pizza-ordered', 30, 20),
      topic('pizza-assembled', 25, 15),
      topic('pizza-baked', 1, 2),
      topic('pizza-delivered', 1, 1),
      topic('pizza-pending', 0, 0),
    ],
    groups: [
      group('pizza_assemble', 1, { 'pizza-ordered': [30, 20] }),
      group('pizza_bake', 2, { 'pizza-assembled': [5, 5] }),
      group('pizza_delivery', 1, { 'pizza-ordered': [30, 20], 'pizza-baked': [1, 2] }),
    ],
    reports: [report('assemble', 0, 8), report('bake', 8, 8), report('deliver', 0, 16)],
    ...overrides,
  };
}

const service = (model: ReturnType<typeof buildLineage>, name: string) => {
  const found = model.services.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
};

describe('stream lineage model', () => {
  it('sums lag over partitions from end and committed offsets, with a per-partition drill-down', () => {
    const model = buildLineage(observe(), plan);
    const bake = service(model, 'bake');
    expect(bake.lag).toBe(30);
    expect(bake.groups[0]?.topics[0]?.partitions).toEqual([
      { partition: 0, committed: 5, end: 25, lag: 20 },
      { partition: 1, committed: 5, end: 15, lag: 10 },
    ]);
    expect(bake.instances).toBe(2);
    expect(service(model, 'assemble').lag).toBe(0);
  });

  it('counts a partition with nothing committed from its first kept record', () => {
    const observations = observe({
      topics: [{ name: 'pizza-assembled', partitions: [{ partition: 0, start: 4, end: 10 }] }],
      groups: [group('pizza_bake', 1, {})],
    });
    expect(service(buildLineage(observations, plan), 'bake').lag).toBe(6);
  });

  it('says waiting is lag minus in flight, never below zero', () => {
    const model = buildLineage(observe(), plan);
    expect(service(model, 'bake')).toMatchObject({ lag: 30, inFlight: 8, capacity: 8, waiting: 22 });
    const busy = buildLineage(observe({ reports: [report('bake', 40, 64)] }), plan);
    expect(service(busy, 'bake').waiting).toBe(0);
  });

  it('ignores reports older than the plan allows, and sums those of several instances', () => {
    const model = buildLineage(
      observe({
        reports: [
          report('bake', 3, 8, T0 - 1_000, 'h1'),
          report('bake', 4, 8, T0 - 2_000, 'h2'),
          report('bake', 8, 8, T0 - 16_000, 'h3'),
        ],
      }),
      plan,
    );
    expect(service(model, 'bake')).toMatchObject({ inFlight: 7, capacity: 16, busy: '7 of 16 ovens busy' });
    const none = buildLineage(observe({ reports: [] }), plan);
    expect(service(none, 'bake')).toMatchObject({ inFlight: null, capacity: null, waiting: 30 });
  });

  it('computes events per second from the previous snapshot, and none without one', () => {
    const first = buildLineage(observe(), plan);
    expect(first.topics.find((t) => t.name === 'pizza-ordered')).toMatchObject({ total: 50, perSecond: null });
    const later = observe({
      at: T0 + 2_000,
      topics: [topic('pizza-ordered', 40, 30), topic('pizza-assembled', 25, 15)],
      groups: [group('pizza_bake', 2, { 'pizza-assembled': [9, 9] })],
    });
    const second = buildLineage(later, plan, first.sample);
    expect(second.topics.find((t) => t.name === 'pizza-ordered')).toMatchObject({ total: 70, perSecond: 10 });
    expect(second.topics.find((t) => t.name === 'pizza-assembled')?.perSecond).toBe(0);
    // The bake group moved its committed offsets 8 records on in 2 s.
    expect(service(second, 'bake').consumedPerSecond).toBe(4);
  });

  it('never shows a negative rate when a topic is recreated', () => {
    const first = buildLineage(observe(), plan);
    const again = buildLineage(observe({ at: T0 + 1_000, topics: [topic('pizza-ordered', 1, 0)] }), plan, first.sample);
    expect(again.topics.find((t) => t.name === 'pizza-ordered')?.perSecond).toBe(0);
  });

  it('names the stage with the most waiting as the bottleneck, with the reason in words', () => {
    const model = buildLineage(observe(), plan);
    expect(model.bottleneck).toEqual({
      service: 'bake',
      waiting: 22,
      reason: 'bake: 8 of 8 ovens busy, 22 orders waiting',
    });
    expect(service(model, 'bake').bottleneck).toBe(true);
    expect(model.summary).toBe(model.bottleneck?.reason);
  });

  it('breaks a tie in waiting by the larger lag, then by name', () => {
    const tied = observe({
      topics: [topic('pizza-ordered', 10), topic('pizza-assembled', 12)],
      groups: [
        group('pizza_assemble', 1, { 'pizza-ordered': [0] }),
        group('pizza_bake', 1, { 'pizza-assembled': [0] }),
      ],
      reports: [report('assemble', 0, 8), report('bake', 2, 2)],
    });
    // Both have 10 waiting; bake's lag is 12.
    expect(buildLineage(tied, plan).bottleneck?.service).toBe('bake');
    const fullTie = observe({
      topics: [topic('pizza-ordered', 10), topic('pizza-assembled', 10)],
      groups: [
        group('pizza_assemble', 1, { 'pizza-ordered': [0] }),
        group('pizza_bake', 1, { 'pizza-assembled': [0] }),
      ],
      reports: [report('assemble', 0, 8), report('bake', 0, 8)],
    });
    expect(buildLineage(fullTie, plan).bottleneck?.service).toBe('assemble');
  });

  it('has no bottleneck when nothing waits, and says so', () => {
    const model = buildLineage(observe({ topics: [], groups: [] }), plan);
    expect(model.bottleneck).toBeUndefined();
    expect(model.summary).toBe('Nothing is waiting: every stage keeps up.');
  });

  it('says when a stage has no instance at all', () => {
    const model = buildLineage(
      observe({ groups: [group('pizza_bake', 0, { 'pizza-assembled': [0, 0] })], reports: [] }),
      plan,
    );
    expect(model.bottleneck?.reason).toBe('bake: no instance in its consumer group, 40 orders waiting');
  });

  it('groups per-host and suffixed groups (other hosts, the Python services) into one service', () => {
    expect(serviceOfGroup(plan, 'pizza_status.host.ab12')).toEqual({ service: 'status', suffixed: true });
    expect(serviceOfGroup(plan, 'pizza_bake-7f3a')).toEqual({ service: 'bake', suffixed: true });
    expect(serviceOfGroup(plan, 'pizza_bake_host2')).toEqual({ service: 'bake', suffixed: true });
    expect(serviceOfGroup(plan, 'pizza_bake')).toEqual({ service: 'bake', suffixed: false });
    // The web app's log reader is named after the status group, but is the web's.
    expect(serviceOfGroup(plan, 'pizza_status-logs.host.ab12')).toEqual({ service: 'web', suffixed: true });
    expect(serviceOfGroup(plan, 'pizza_baker')).toBeUndefined();
    expect(serviceOfGroup(plan, 'pizza_bake-')).toBeUndefined();
    expect(serviceOfGroup(plan, 'someone-else')).toBeUndefined();
  });

  it('counts members of every host, but lag only of per-host groups that still have members', () => {
    const model = buildLineage(
      observe({
        // The status view reads every stage topic; only pizza-ordered has records here.
        topics: [topic('pizza-ordered', 30, 20)],
        groups: [
          group('pizza_status.host.a', 1, { 'pizza-ordered': [30, 20] }),
          group('pizza_status.host.b', 1, { 'pizza-ordered': [25, 20] }),
          group('pizza_status.host.gone', 0, { 'pizza-ordered': [0, 0] }),
          group('pizza_status-logs.host.a', 2, {}),
        ],
        reports: [report('status', 1, 64), report('serve', 0, 0)],
      }),
      plan,
    );
    const status = service(model, 'status');
    expect(status.instances).toBe(2);
    expect(status.groups.map((g) => [g.groupId, g.counted])).toEqual([
      ['pizza_status.host.a', true],
      ['pizza_status.host.b', true],
      ['pizza_status.host.gone', false],
    ]);
    expect(status.lag).toBe(5);
    expect(status.waiting).toBe(4);
    expect(service(model, 'web').instances).toBe(2);
  });

  it('adds the Flink statement, with its output rate from pizza-status, when the status view reads it', () => {
    const flinkPlan = lineagePlan(
      { ...SETTINGS, shop: { statusSource: 'pizza-status' } },
      {
        bus: 'kafka',
        reportTtlMs: 15_000,
      },
    );
    const first = buildLineage(observe({ topics: [topic('pizza-status', 10, 10)] }), flinkPlan);
    const second = buildLineage(
      observe({ at: T0 + 4_000, topics: [topic('pizza-status', 20, 12)] }),
      flinkPlan,
      first.sample,
    );
    const flink = service(second, 'flink');
    expect(flink).toMatchObject({ instances: null, outputPerSecond: 3, writes: ['pizza-status'] });
    expect(second.topics.map((t) => t.name)).toContain('pizza-status');
    expect(service(second, 'status').reads).toEqual(['pizza-ordered', 'pizza-status']);
    expect(plan.services.map((s) => s.name)).not.toContain('flink');
  });

  it('marks topics that do not exist', () => {
    const model = buildLineage(observe({ topics: [topic('pizza-ordered', 1)] }), plan);
    expect(model.topics.find((t) => t.name === 'pizza-baked')).toMatchObject({ exists: false, partitions: 0 });
  });
});
