import type { LineageModel } from './model.js';

type Row = Array<string | number>;

function table(header: Row, rows: Row[]): string {
  const all = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const rate = (value: number | null) => (value === null ? '-' : value.toFixed(1));

/** The model as the terminal shows it: services, topics, then every group's partitions. */
export function formatLineage(model: LineageModel): string {
  const services = table(
    ['SERVICE', 'INSTANCES', 'IN FLIGHT', 'LAG', 'WAITING', 'CONSUMED/S', 'OUTPUT/S'],
    model.services.map((service) => {
      const stage = service.name !== 'web' && service.name !== 'flink';
      return [
        `${service.name}${service.bottleneck ? ' *' : ''}`,
        service.instances ?? '-',
        service.inFlight === null ? '-' : `${service.inFlight}/${service.capacity}`,
        stage ? service.lag : '-',
        stage ? service.waiting : '-',
        stage ? rate(service.consumedPerSecond) : '-',
        service.name === 'flink' ? rate(service.outputPerSecond) : '-',
      ];
    }),
  );
  const topics = table(
    ['TOPIC', 'PARTITIONS', 'EVENTS/S', 'TOTAL'],
    model.topics.map((topic) => [
      topic.name,
      topic.exists ? topic.partitions : 'missing',
      rate(topic.perSecond),
      topic.total,
    ]),
  );
  const partitions = table(
    ['GROUP', 'MEMBERS', 'TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG'],
    model.services.flatMap((service) =>
      service.groups.flatMap((group) =>
        group.topics.flatMap((topic) =>
          topic.partitions.map((partition) => [
            `${group.groupId}${group.counted ? '' : ' (not counted)'}`,
            group.members,
            topic.topic,
            partition.partition,
            partition.committed,
            partition.end,
            partition.lag,
          ]),
        ),
      ),
    ),
  );
  const head = `Stream lineage on ${model.bus === 'kafka' ? 'Kafka' : 'the embedded bus'} at ${new Date(model.at).toISOString()}`;
  const slowest = model.bottleneck ? `Slowest stage (*): ${model.summary}` : model.summary;
  const notes = model.notes.map((note) => `Note: ${note}`);
  const legend =
    'Lag counts records after the committed offset, in flight included (commits trail the work); waiting = lag - in flight.';
  return [head, slowest, ...notes, '', services, '', topics, '', partitions, '', legend, ''].join('\n');
}
