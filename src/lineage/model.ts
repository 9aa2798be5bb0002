/**
 * Stream lineage: where the shop's events are and how fast they move. Pure:
 * `buildLineage` shapes one observation of a bus (and the previous snapshot,
 * for rates) into the model that the web page, the JSON and the terminal
 * table all show.
 */

import type { GroupObservation, LineageObservations, PartitionEnds, TopicObservation } from './observations.js';
import {
  isStage,
  type LineagePlan,
  type LineageServiceName,
  type LineageStage,
  type ServicePlan,
  serviceOfGroup,
} from './plan.js';
import { bottleneckReason, busyText, NOTHING_WAITING } from './wording.js';

/** What `buildLineage` keeps of a snapshot to compute the next one's rates. */
export interface LineageSample {
  at: number;
  /** Sum of end offsets per topic. */
  topicEnds: Record<string, number>;
  /** Sum of committed offsets per group and topic, keyed `group\u0000topic`. */
  committed: Record<string, number>;
}

export interface PartitionLag {
  partition: number;
  committed: number;
  end: number;
  lag: number;
}

export interface GroupTopicView {
  topic: string;
  lag: number;
  /** Records the group moved its committed offsets past, per second, since the last snapshot. */
  consumedPerSecond: number | null;
  partitions: PartitionLag[];
}

export interface GroupView {
  groupId: string;
  members: number;
  clientIds: string[];
  /**
   * Whether its lag counts towards the service's. A per-host group with no
   * members is a host that is gone (or a wiped view): its lag is nobody's work.
   */
  counted: boolean;
  lag: number;
  topics: GroupTopicView[];
}

export interface ServiceView {
  name: LineageServiceName;
  label: string;
  /** Distinct members of its consumer groups (processes); null where none can be seen (the Flink statement). */
  instances: number | null;
  reads: string[];
  writes: string[];
  groups: GroupView[];
  /** Records after the committed offsets, summed over its counted groups; in flight included. */
  lag: number;
  /** Records its instances are working on, from their reports; null with no report. */
  inFlight: number | null;
  capacity: number | null;
  /** Lag minus in flight: records nobody has started on. */
  waiting: number;
  consumedPerSecond: number | null;
  /** For the Flink statement: records per second it writes to its output topic. */
  outputPerSecond: number | null;
  /** "3 of 8 ovens busy", or why that is unknown. */
  busy: string;
  bottleneck: boolean;
}

export interface TopicView {
  name: string;
  partitions: number;
  /** Records ever written: the sum of the partitions' end offsets. */
  total: number;
  perSecond: number | null;
  ends: PartitionEnds[];
  exists: boolean;
}

export interface Bottleneck {
  service: LineageStage;
  waiting: number;
  /** In words, e.g. "bake: 8 of 8 ovens busy, 37 orders waiting". */
  reason: string;
}

export interface LineageModel {
  at: number;
  bus: 'embedded' | 'kafka';
  statusSource: 'topics' | 'pizza-status';
  services: ServiceView[];
  topics: TopicView[];
  bottleneck: Bottleneck | undefined;
  /** One sentence: the bottleneck's reason, or that nothing waits. */
  summary: string;
  notes: string[];
  sample: LineageSample;
}

const groupTopicKey = (groupId: string, topic: string) => `${groupId}\u0000${topic}`;

function rate(now: number, before: number | undefined, at: number, previousAt: number | undefined): number | null {
  if (before === undefined || previousAt === undefined || at <= previousAt) return null;
  // A recreated topic or a reset group goes backwards: no flow, rather than a negative one.
  return Math.max(0, now - before) / ((at - previousAt) / 1000);
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** Shapes one observation (and the previous snapshot, for rates) into the page model. */
export function buildLineage(
  observations: LineageObservations,
  plan: LineagePlan,
  previous?: LineageSample,
): LineageModel {
  const { at } = observations;
  const topicsByName = new Map(observations.topics.map((topic) => [topic.name, topic]));
  const sample: LineageSample = { at, topicEnds: {}, committed: {} };

  const topics: TopicView[] = plan.topics.map((name) => {
    const found = topicsByName.get(name);
    const ends = [...(found?.partitions ?? [])].sort((a, b) => a.partition - b.partition);
    const total = sum(ends.map((partition) => partition.end));
    if (found) sample.topicEnds[name] = total;
    return {
      name,
      partitions: ends.length,
      total,
      perSecond: found ? rate(total, previous?.topicEnds[name], at, previous?.at) : null,
      ends,
      exists: found !== undefined,
    };
  });

  const journey = new Set(plan.topics);
  const groupsByService = new Map<LineageServiceName, GroupView[]>();
  // An instance is a member, counted once however many of the service's groups it is in: one
  // `pizza serve` is the one member of both its log reader's group and its session reader's.
  const membersByService = new Map<LineageServiceName, Set<string>>();
  for (const group of [...observations.groups].sort((a, b) => a.groupId.localeCompare(b.groupId))) {
    const owner = serviceOfGroup(plan, group.groupId);
    if (!owner) continue;
    const members = membersByService.get(owner.service) ?? new Set<string>();
    for (const member of group.members) members.add(member.memberId);
    membersByService.set(owner.service, members);
    const service = plan.services.find((candidate) => candidate.name === owner.service) as ServicePlan;
    const view = groupView(group, service, journey, owner.suffixed, topicsByName, sample, previous);
    groupsByService.set(owner.service, [...(groupsByService.get(owner.service) ?? []), view]);
  }

  const freshReports = observations.reports.filter((report) => report.at >= at - plan.reportTtlMs);
  const services: ServiceView[] = plan.services.map((service) => {
    const groups = groupsByService.get(service.name) ?? [];
    const counted = groups.filter((group) => group.counted);
    const reports = freshReports.filter((report) => report.role === (service.name === 'web' ? 'serve' : service.name));
    const members = membersByService.get(service.name)?.size ?? 0;
    const lag = sum(counted.map((group) => group.lag));
    const stage = isStage(service.name);
    const inFlight = stage && reports.length > 0 ? sum(reports.map((report) => report.inFlight)) : null;
    const capacity = stage && reports.length > 0 ? sum(reports.map((report) => report.capacity)) : null;
    const consumedRates = counted.flatMap((group) => group.topics.map((topic) => topic.consumedPerSecond));
    const output = service.name === 'flink' ? topics.find((topic) => topic.name === service.writes[0]) : undefined;
    return {
      name: service.name,
      label: service.label,
      instances: service.name === 'flink' ? null : service.name === 'web' ? Math.max(members, reports.length) : members,
      reads: service.reads,
      writes: service.writes,
      groups,
      lag,
      inFlight,
      capacity,
      waiting: Math.max(0, lag - (inFlight ?? 0)),
      consumedPerSecond: consumedRates.some((value) => value === null) ? null : sum(consumedRates as number[]),
      outputPerSecond: output?.perSecond ?? null,
      busy: busyText(service.name, inFlight, capacity),
      bottleneck: false,
    };
  });

  const bottleneck = findBottleneck(services);
  if (bottleneck) {
    const slowest = services.find((service) => service.name === bottleneck.service);
    if (slowest) slowest.bottleneck = true;
  }
  return {
    at,
    bus: plan.bus,
    statusSource: plan.statusSource,
    services,
    topics,
    bottleneck,
    summary: bottleneck ? bottleneck.reason : NOTHING_WAITING,
    notes: observations.notes ?? [],
    sample,
  };
}

function groupView(
  group: GroupObservation,
  service: ServicePlan,
  journey: ReadonlySet<string>,
  suffixed: boolean,
  topicsByName: Map<string, TopicObservation>,
  sample: LineageSample,
  previous: LineageSample | undefined,
): GroupView {
  const committedByTopic = new Map<string, Map<number, number>>();
  for (const entry of group.committed) {
    const partitions = committedByTopic.get(entry.topic) ?? new Map<number, number>();
    partitions.set(entry.partition, entry.offset);
    committedByTopic.set(entry.topic, partitions);
  }
  // The topics it reads by plan, plus any other of the journey's topics it has committed on.
  const names = [...new Set([...service.reads, ...committedByTopic.keys()])].filter(
    (name) => journey.has(name) && topicsByName.has(name),
  );
  const topics: GroupTopicView[] = names.map((name) => {
    const topic = topicsByName.get(name) as TopicObservation;
    const committed = committedByTopic.get(name);
    const partitions = [...topic.partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((ends): PartitionLag => {
        // Nothing committed yet: the group will start at the first record kept.
        const position = committed?.get(ends.partition) ?? ends.start;
        return { partition: ends.partition, committed: position, end: ends.end, lag: Math.max(0, ends.end - position) };
      });
    const key = groupTopicKey(group.groupId, name);
    const committedTotal = sum(partitions.map((partition) => partition.committed));
    sample.committed[key] = committedTotal;
    return {
      topic: name,
      lag: sum(partitions.map((partition) => partition.lag)),
      consumedPerSecond: rate(committedTotal, previous?.committed[key], sample.at, previous?.at),
      partitions,
    };
  });
  const counted = !suffixed || group.members.length > 0;
  return {
    groupId: group.groupId,
    members: group.members.length,
    clientIds: [...new Set(group.members.map((member) => member.clientId))].sort(),
    counted,
    lag: sum(topics.map((topic) => topic.lag)),
    topics,
  };
}

/**
 * The slowest stage: the one with the most records waiting. The age of the
 * oldest waiting record would break a tie best, but it costs a read of every
 * partition; ties go to the larger lag, then to the name, so the choice is stable.
 */
export function findBottleneck(services: readonly ServiceView[]): Bottleneck | undefined {
  const candidates = services
    .filter((service): service is ServiceView & { name: LineageStage } => isStage(service.name) && service.waiting > 0)
    .sort((a, b) => b.waiting - a.waiting || b.lag - a.lag || a.name.localeCompare(b.name));
  const slowest = candidates[0];
  if (!slowest) return undefined;
  return { service: slowest.name, waiting: slowest.waiting, reason: bottleneckReason(slowest) };
}
