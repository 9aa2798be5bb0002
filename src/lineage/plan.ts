/**
 * The shop's shape as lineage draws it: which services read and write which
 * topics, and which consumer groups are theirs. Built from the settings.
 */

export type LineageServiceName = 'web' | 'assemble' | 'bake' | 'deliver' | 'status' | 'flink';
export type LineageStage = 'assemble' | 'bake' | 'deliver' | 'status';

export const LINEAGE_STAGES: readonly LineageStage[] = ['assemble', 'bake', 'deliver', 'status'];

export interface ServicePlan {
  name: LineageServiceName;
  label: string;
  /** Consumer group ids of the service; a group equal to one, or one followed by `-`, `_` or `.` and a suffix, is the service's. */
  groupBases: string[];
  reads: string[];
  writes: string[];
}

/** The shop's shape: which services read and write which topics, and their groups. Built from the settings. */
export interface LineagePlan {
  bus: 'embedded' | 'kafka';
  statusSource: 'topics' | 'pizza-status';
  /** Every topic on the pizza's journey, in flow order. */
  topics: string[];
  services: ServicePlan[];
  /** Role reports older than this are ignored: that process has stopped reporting. */
  reportTtlMs: number;
}

/** The parts of the settings the plan needs (Settings fits). */
export interface LineagePlanSettings {
  topics: { ordered: string; assembled: string; baked: string; delivered: string; pending: string; status: string };
  groupIds: Record<LineageStage, string>;
  shop: { statusSource: 'topics' | 'pizza-status' };
}

export function lineagePlan(
  settings: LineagePlanSettings,
  options: { bus: 'embedded' | 'kafka'; reportTtlMs: number },
): LineagePlan {
  const { topics, groupIds } = settings;
  const flink = settings.shop.statusSource === 'pizza-status';
  const stageTopics = [topics.ordered, topics.pending, topics.assembled, topics.baked, topics.delivered];
  const services: ServicePlan[] = [
    // The web app's groups are its per-host readers of the log and sessions topics, named after the status group.
    {
      name: 'web',
      label: 'Web app',
      groupBases: [`${groupIds.status}-logs`, `${groupIds.status}-sessions`],
      reads: [],
      writes: [topics.ordered],
    },
    {
      name: 'assemble',
      label: 'Assemble',
      groupBases: [groupIds.assemble],
      reads: [topics.ordered],
      writes: [topics.assembled],
    },
    { name: 'bake', label: 'Bake', groupBases: [groupIds.bake], reads: [topics.assembled], writes: [topics.baked] },
    {
      name: 'deliver',
      label: 'Deliver',
      groupBases: [groupIds.deliver],
      reads: [topics.ordered, topics.baked],
      writes: [topics.delivered, topics.pending],
    },
  ];
  if (flink) {
    services.push({
      name: 'flink',
      label: 'Flink statement',
      groupBases: [],
      reads: stageTopics,
      writes: [topics.status],
    });
  }
  services.push({
    name: 'status',
    label: 'Status',
    groupBases: [groupIds.status],
    reads: flink ? [topics.ordered, topics.status] : stageTopics,
    writes: [],
  });
  return {
    bus: options.bus,
    statusSource: settings.shop.statusSource,
    topics: flink ? [...stageTopics, topics.status] : stageTopics,
    services,
    reportTtlMs: options.reportTtlMs,
  };
}

/** The service a consumer group belongs to, by the longest matching base; undefined for groups not ours. */
export function serviceOfGroup(
  plan: LineagePlan,
  groupId: string,
): { service: LineageServiceName; suffixed: boolean } | undefined {
  let best: { service: LineageServiceName; base: string } | undefined;
  for (const service of plan.services) {
    for (const base of service.groupBases) {
      const matches =
        groupId === base ||
        (groupId.length > base.length + 1 && groupId.startsWith(base) && /[-_.]/.test(groupId.charAt(base.length)));
      if (matches && (!best || base.length > best.base.length)) best = { service: service.name, base };
    }
  }
  return best && { service: best.service, suffixed: groupId !== best.base };
}

export function isStage(name: LineageServiceName): name is LineageStage {
  return (LINEAGE_STAGES as readonly string[]).includes(name);
}
