import type { LineageObservations, LineageSource } from '../../lineage/observations.js';
import type { EmbeddedBus } from './embedded.js';

/**
 * Lineage observations from the embedded bus itself: its topics' end offsets,
 * its groups' committed offsets and members, and each member's work in flight
 * (in one process there is nobody else to report it). Shaped like what the
 * Kafka admin API gives, so one model is built from either.
 */
export function embeddedLineageSource(bus: EmbeddedBus, now: () => number = Date.now): LineageSource {
  return {
    async observe(): Promise<LineageObservations> {
      const at = now();
      const seen = bus.lineageObservations();
      return {
        at,
        topics: seen.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.ends.map((end, partition) => ({ partition, start: 0, end })),
        })),
        groups: [
          ...seen.groups.map((group) => ({
            groupId: group.groupId,
            committed: group.committed,
            members: group.members.map((member) => ({ memberId: member.memberId, clientId: member.clientId })),
          })),
          // A host reader has no group: it stands for one of its own, with this process as its one member
          // (the same member for every reader, so the process counts as one instance).
          ...seen.readers.map((reader) => ({
            groupId: reader.id,
            committed: reader.positions.map(({ topic, partition, offset }) => ({
              topic,
              partition,
              offset: Number(offset),
            })),
            members: [{ memberId: `embedded.${process.pid}`, clientId: `${reader.role}@embedded` }],
          })),
        ],
        // The web app's log reader works for serve, not for a stage: its load is not a stage's.
        reports: seen.groups
          .flatMap((group) =>
            group.members
              .filter((member) => member.role !== 'serve')
              .map((member) => ({
                role: member.role,
                host: 'embedded',
                pid: process.pid,
                inFlight: member.inFlight,
                capacity: member.capacity,
                at,
              })),
          )
          .concat(
            seen.readers
              .filter((reader) => reader.role !== 'serve')
              .map((reader) => ({
                role: reader.role,
                host: 'embedded',
                pid: process.pid,
                inFlight: reader.busy,
                capacity: reader.capacity,
                at,
              })),
          ),
      };
    },
    async close(): Promise<void> {},
  };
}
