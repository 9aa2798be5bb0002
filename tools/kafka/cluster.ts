/**
 * A KRaft cluster of several brokers on this machine, from the same jars as
 * tools/kafka/broker.ts: every node is a broker and a controller voter, with a
 * node id, ports and a data dir of its own. Internal topics are replicated
 * (3 copies, 2 in sync to accept a write), and so is every topic created
 * without a factor of its own.
 *
 * Each broker can be killed, stopped, restarted on its ports and data, and
 * paused (SIGSTOP) and resumed, one at a time, while the others run.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type KafkaBroker,
  type ProxyListenerOptions,
  type ReplicationOptions,
  randomClusterId,
  startKafkaBroker,
} from './broker.js';

export interface StartKafkaClusterOptions {
  /** How many brokers; 3 when omitted. */
  size?: number;
  cacheDir?: string;
  /** Where the brokers' data dirs go (`node-<id>`); a temp dir, removed by close(), when omitted. */
  dataRoot?: string;
  /** Partitions of `__consumer_offsets` and `__transaction_state`; 12 when omitted. */
  internalPartitions?: number;
  /** `min.insync.replicas` for internal topics and the brokers' default; 2 when omitted (1 for a single broker). */
  minInsyncReplicas?: number;
  /** An extra listener per broker advertised on a proxy's port, by the broker's index. */
  proxyListener?: ProxyListenerOptions;
  log?: (line: string) => void;
}

export interface KafkaCluster {
  /** Every broker's PLAINTEXT address, comma-separated. */
  bootstrapServers: string;
  /** Node ids, 1..size. */
  nodeIds: number[];
  /** The broker process now running (or last run) as this node. */
  broker(nodeId: number): KafkaBroker;
  /** Nodes whose process runs and is not paused. */
  liveNodeIds(): number[];
  /** SIGKILL of one broker; it stays down until restart(). */
  kill(nodeId: number): Promise<void>;
  /** A graceful stop of one broker (controlled shutdown); it stays down until restart(). */
  stop(nodeId: number): Promise<void>;
  /** Starts the node again on its ports and data dir (killing it first if it still runs). */
  restart(nodeId: number): Promise<KafkaBroker>;
  pause(nodeId: number): void;
  resume(nodeId: number): void;
  /**
   * The active controller (the metadata quorum's leader) as the running nodes' own
   * quorum state records it: the leader of the highest epoch any of them knows.
   */
  activeController(): Promise<number | undefined>;
  /** Stops every broker and removes the temp dirs. */
  close(): Promise<void>;
}

/**
 * A free port below the kernel's ephemeral range (32768 and up on Linux), so no
 * outgoing connection takes it while its broker is down between two runs.
 */
export async function reserveStablePort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolvePort) => {
      const server = createServer();
      server.once('error', () => resolvePort(false));
      server.listen(port, '127.0.0.1', () => {
        const bound = (server.address() as AddressInfo).port;
        server.close(() => resolvePort(bound === port));
      });
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

interface QuorumState {
  leaderId?: number;
  leaderEpoch?: number;
}

export async function startKafkaCluster(options: StartKafkaClusterOptions = {}): Promise<KafkaCluster> {
  const size = options.size ?? 3;
  const log = options.log ?? (() => {});
  const ownRoot = options.dataRoot === undefined;
  const dataRoot = options.dataRoot ?? (await mkdtemp(join(tmpdir(), 'pizza-kafka-cluster-')));
  const nodeIds = Array.from({ length: size }, (_, index) => index + 1);
  const taken = new Set<number>();
  const take = async (): Promise<number> => {
    const port = await reserveStablePort(taken);
    taken.add(port);
    return port;
  };
  const ports = new Map<number, { port: number; controllerPort: number; proxyPort: number }>();
  for (const nodeId of nodeIds)
    ports.set(nodeId, { port: await take(), controllerPort: await take(), proxyPort: await take() });
  const quorumVoters = nodeIds.map((nodeId) => `${nodeId}@127.0.0.1:${ports.get(nodeId)?.controllerPort}`).join(',');
  const replication: ReplicationOptions = {
    internalReplicationFactor: Math.min(3, size),
    minInsyncReplicas: options.minInsyncReplicas ?? Math.min(2, size),
    internalPartitions: options.internalPartitions ?? 12,
    defaultReplicationFactor: Math.min(3, size),
  };
  const clusterId = randomClusterId();
  const dataDir = (nodeId: number) => join(dataRoot, `node-${nodeId}`);
  const startNode = (nodeId: number) =>
    startKafkaBroker({
      ...ports.get(nodeId),
      cacheDir: options.cacheDir,
      dataDir: dataDir(nodeId),
      nodeId,
      nodeIndex: nodeId - 1,
      quorumVoters,
      clusterId,
      replication,
      proxyListener: options.proxyListener,
      // A restarted broker takes its partitions back within seconds, not Kafka's 5 minutes,
      // so every broker leads some partitions again by the next fault.
      settings: { 'leader.imbalance.check.interval.seconds': 5, 'leader.imbalance.per.broker.percentage': 0 },
      log,
    });

  // Side by side: a broker answers only once a quorum of controllers has elected a leader.
  const started = await Promise.allSettled(nodeIds.map(startNode));
  const brokers = new Map<number, KafkaBroker>();
  started.forEach((result, index) => {
    if (result.status === 'fulfilled') brokers.set(index + 1, result.value);
  });
  const closeAll = async (): Promise<void> => {
    if (ownRoot) {
      // Its data goes anyway, and brokers that all shut down at once wait on each other's controlled shutdown.
      await Promise.all([...brokers.values()].map((broker) => broker.kill()));
      await Promise.all([...brokers.values()].map((broker) => broker.stop()));
      await rm(dataRoot, { recursive: true, force: true });
      return;
    }
    // One at a time, so each shutdown still finds a controller quorum.
    for (const broker of brokers.values()) await broker.stop();
  };
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await closeAll();
    throw failure.reason;
  }

  const paused = new Set<number>();
  const down = new Set<number>();
  const broker = (nodeId: number): KafkaBroker => {
    const found = brokers.get(nodeId);
    if (!found) throw new Error(`no broker with node id ${nodeId} (the cluster has ${nodeIds.join(', ')})`);
    return found;
  };

  return {
    bootstrapServers: nodeIds.map((nodeId) => `127.0.0.1:${ports.get(nodeId)?.port}`).join(','),
    nodeIds,
    broker,
    liveNodeIds: () => nodeIds.filter((nodeId) => !down.has(nodeId) && !paused.has(nodeId)),
    async kill(nodeId) {
      down.add(nodeId);
      paused.delete(nodeId);
      await broker(nodeId).kill();
    },
    async stop(nodeId) {
      down.add(nodeId);
      paused.delete(nodeId);
      await broker(nodeId).stop();
    },
    async restart(nodeId) {
      paused.delete(nodeId);
      const next = await broker(nodeId).restart();
      brokers.set(nodeId, next);
      down.delete(nodeId);
      return next;
    },
    pause(nodeId) {
      broker(nodeId).pause();
      paused.add(nodeId);
    },
    resume(nodeId) {
      broker(nodeId).resume();
      paused.delete(nodeId);
    },
    async activeController() {
      let best: QuorumState | undefined;
      for (const nodeId of nodeIds.filter((id) => !down.has(id) && !paused.has(id))) {
        try {
          const state = JSON.parse(
            await readFile(join(dataDir(nodeId), '__cluster_metadata-0', 'quorum-state'), 'utf8'),
          ) as QuorumState;
          if (state.leaderId === undefined || state.leaderId < 0) continue;
          if (!best || (state.leaderEpoch ?? -1) > (best.leaderEpoch ?? -1)) best = state;
        } catch {
          // Not written yet, or being rewritten: another node's copy answers.
        }
      }
      return best?.leaderId;
    },
    close: closeAll,
  };
}
