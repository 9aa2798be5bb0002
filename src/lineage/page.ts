import type { LineageModel, ServiceView } from './model.js';

const numberFormat = new Intl.NumberFormat('en');
const count = (value: number) => numberFormat.format(value);
const perSecond = (value: number | null) => (value === null ? '—' : `${value.toFixed(1)}/s`);

/** What the page shows, formatted once here for the template and for the page's script alike. */
export function lineagePage(model: LineageModel) {
  const topics = new Map(model.topics.map((topic) => [topic.name, topic]));
  const services = new Map(model.services.map((service) => [service.name, service]));
  const topicRow = (name: string) => {
    const topic = topics.get(name);
    return {
      name,
      exists: topic?.exists ?? false,
      partitions: topic?.exists ? `${topic.partitions} partition${topic.partitions === 1 ? '' : 's'}` : 'missing',
      perSecond: perSecond(topic?.perSecond ?? null),
      total: count(topic?.total ?? 0),
    };
  };
  const steps: Array<{ service?: ReturnType<typeof serviceCard>; topics?: Array<ReturnType<typeof topicRow>> }> = [];
  for (const service of model.services.filter((candidate) => candidate.name !== 'status')) {
    const card = serviceCard(service);
    // The web app is in no group that reads the journey: what it publishes is its flow.
    if (service.name === 'web') card.output = perSecond(topics.get(service.writes[0] ?? '')?.perSecond ?? null);
    steps.push({ service: card });
    steps.push({ topics: service.writes.map(topicRow) });
  }
  const status = services.get('status');
  if (status) steps.push({ service: serviceCard(status) });
  return {
    at: new Date(model.at).toISOString(),
    summary: model.summary,
    slow: model.bottleneck !== undefined,
    notes: model.notes,
    steps,
  };
}

function serviceCard(service: ServiceView) {
  const isStage = service.name !== 'web' && service.name !== 'flink';
  return {
    name: service.name,
    label: service.label,
    isStage,
    isFlink: service.name === 'flink',
    isWeb: service.name === 'web',
    bottleneck: service.bottleneck,
    instances:
      service.instances === null
        ? 'not a consumer group'
        : `${service.instances} instance${service.instances === 1 ? '' : 's'}`,
    reads: service.reads.join(', '),
    writes: service.writes.join(', '),
    inFlight: service.inFlight ?? 0,
    capacity: Math.max(1, service.capacity ?? 0),
    inFlightText: service.inFlight === null ? '—' : `${service.inFlight} / ${service.capacity}`,
    busy: service.busy,
    lag: count(service.lag),
    waiting: count(service.waiting),
    consumed: perSecond(service.consumedPerSecond),
    output: perSecond(service.outputPerSecond),
    lagByTopic: lagByTopic(service),
    groups: service.groups.map((group) => ({
      groupId: group.groupId,
      members: `${group.members} member${group.members === 1 ? '' : 's'}`,
      counted: group.counted,
      lag: count(group.lag),
      rows: group.topics.flatMap((topic) =>
        topic.partitions.map((partition) => ({
          topic: topic.topic,
          partition: partition.partition,
          committed: count(partition.committed),
          end: count(partition.end),
          lag: count(partition.lag),
        })),
      ),
    })),
  };
}

function lagByTopic(service: ServiceView): Array<{ topic: string; lag: string }> {
  const totals = new Map<string, number>();
  for (const group of service.groups.filter((candidate) => candidate.counted)) {
    for (const topic of group.topics) totals.set(topic.topic, (totals.get(topic.topic) ?? 0) + topic.lag);
  }
  return [...totals].map(([topic, lag]) => ({ topic, lag: count(lag) }));
}
