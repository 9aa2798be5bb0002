/**
 * A 3-broker KRaft cluster for tests (tools/kafka/cluster.ts), and what a
 * trial asks of it: which broker coordinates a group or a transactional id,
 * which leads a topic's partitions, and whether every replica is back in sync.
 * Built on the library directly, not on src/, like the fault suite's clients.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pkg, { type KafkaJS as KafkaJSTypes } from '@confluentinc/kafka-javascript';
import { vi } from 'vitest';
import { type KafkaCluster, type StartKafkaClusterOptions, startKafkaCluster } from '../../tools/kafka/cluster.js';
import { silentLogger, type TopicReplication } from './faults-kafka.js';

const { KafkaJS } = pkg;

export const OFFSETS_TOPIC = '__consumer_offsets';
export const TRANSACTIONS_TOPIC = '__transaction_state';

/** What the cluster's topics get: 3 copies, 2 of them in sync before a write counts. */
export const CLUSTER_REPLICATION: TopicReplication = { replicationFactor: 3, minInsyncReplicas: 2 };

export type { KafkaCluster };

export function startTestCluster(options: StartKafkaClusterOptions = {}): Promise<KafkaCluster> {
  return startKafkaCluster({ size: 3, ...options });
}

/** Java's `String.hashCode()`, which Kafka partitions its coordinators by. */
export function javaHashCode(text: string): number {
  let hash = 0;
  for (let index = 0; index < text.length; index += 1) hash = (Math.imul(hash, 31) + text.charCodeAt(index)) | 0;
  return hash;
}

/** The partition of an internal topic that holds a group's or a transactional id's state (Kafka's `Utils.abs`). */
export function coordinatorPartition(id: string, partitions: number): number {
  const hash = javaHashCode(id);
  return (hash === -2_147_483_648 ? 0 : Math.abs(hash)) % partitions;
}

/** The transactional id of a role's only instance: `<group>.<host id>.<slot>`, as src/adapters/kafka/kafka-bus.ts makes it. */
export function transactionalIdOf(groupId: string, roleDataDir: string, slot = 0): string {
  const hostId = readFileSync(join(roleDataDir, 'host-id'), 'utf8').trim();
  return `${groupId}.${hostId}.${slot}`;
}

export interface PartitionState {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/** An admin client on the cluster with the questions a trial asks. */
export class ClusterInspector {
  private constructor(private readonly admin: KafkaJSTypes.Admin) {}

  static async connect(cluster: KafkaCluster): Promise<ClusterInspector> {
    const admin = new KafkaJS.Kafka({ kafkaJS: { logger: silentLogger } as KafkaJSTypes.KafkaConfig }).admin({
      'bootstrap.servers': cluster.bootstrapServers,
    } as never);
    await admin.connect();
    return new ClusterInspector(admin);
  }

  async partitions(topic: string): Promise<PartitionState[]> {
    const [metadata] = await this.admin.fetchTopicMetadata({ topics: [topic], timeout: 5_000 });
    return (metadata?.partitions ?? []).map((partition) => ({
      partition: partition.partitionId,
      leader: partition.leader,
      replicas: partition.replicas,
      isr: partition.isr,
    }));
  }

  /** Partition → leader's node id. */
  async leaders(topic: string): Promise<Map<number, number>> {
    return new Map((await this.partitions(topic)).map((state) => [state.partition, state.leader]));
  }

  /** Node ids that lead at least one partition of these topics. */
  async leadersOf(topics: string[]): Promise<Set<number>> {
    const found = new Set<number>();
    for (const topic of topics) for (const leader of (await this.leaders(topic)).values()) found.add(leader);
    return found;
  }

  /** The leader of the internal-topic partition that holds `id`'s state. */
  private async coordinatorOn(topic: string, id: string): Promise<number> {
    const states = await this.partitions(topic);
    if (states.length === 0) throw new Error(`${topic} does not exist yet`);
    const partition = coordinatorPartition(id, states.length);
    const leader = states.find((state) => state.partition === partition)?.leader;
    if (leader === undefined || leader < 0) throw new Error(`${topic}[${partition}] has no leader`);
    return leader;
  }

  /**
   * The group coordinator: computed from `__consumer_offsets`, and checked
   * against what the broker itself answers in DescribeGroups.
   */
  async groupCoordinator(groupId: string): Promise<number> {
    const computed = await this.coordinatorOn(OFFSETS_TOPIC, groupId);
    // The check needs the coordinator to answer; one that is stuck (a failed trial before) leaves Kafka's own rule.
    const told = await this.admin
      .describeGroups([groupId], { timeout: 5_000 })
      .then(({ groups }) => groups[0]?.coordinator?.id)
      .catch(() => computed);
    if (told !== computed) {
      throw new Error(
        `group ${groupId}: DescribeGroups names coordinator ${told}, __consumer_offsets says ${computed}`,
      );
    }
    return computed;
  }

  /** The transaction coordinator of a transactional id: the leader of its `__transaction_state` partition. */
  transactionCoordinator(transactionalId: string): Promise<number> {
    return this.coordinatorOn(TRANSACTIONS_TOPIC, transactionalId);
  }

  /**
   * Waits until every partition of these topics (and of the internal topics that
   * exist) has all its replicas in sync and its preferred leader back: the cluster
   * is whole again, ready for the next fault.
   */
  async waitInSync(topics: string[], timeoutMs = 90_000): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const all = [...topics, ...[OFFSETS_TOPIC, TRANSACTIONS_TOPIC].filter((topic) => existing.has(topic))];
    await vi.waitFor(
      async () => {
        const lagging: string[] = [];
        for (const topic of all) {
          for (const state of await this.partitions(topic)) {
            if (state.isr.length < state.replicas.length || state.leader !== state.replicas[0]) {
              lagging.push(`${topic}[${state.partition}] leader ${state.leader} isr ${state.isr.join(',')}`);
            }
          }
        }
        if (lagging.length > 0) throw new Error(`not in sync: ${lagging.slice(0, 5).join('; ')}`);
      },
      { timeout: timeoutMs, interval: 1_000 },
    );
  }

  async close(): Promise<void> {
    await this.admin.disconnect().catch(() => {});
  }
}
