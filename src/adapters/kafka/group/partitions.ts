import type { PartitionRef } from '../../bus/bus.js';

/** One key per topic partition, for the maps of the group units. */
export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function partitionOf(key: string): PartitionRef {
  const [topic = '', partition = '0'] = key.split('\u0000');
  return { topic, partition: Number(partition) };
}

/** `topic[partition]`, as the logs name a partition. */
export const partitionNames = (partitions: readonly PartitionRef[]): string[] =>
  partitions.map((tp) => `${tp.topic}[${tp.partition}]`);
