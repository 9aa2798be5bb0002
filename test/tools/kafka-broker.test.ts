import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pkg from '@confluentinc/kafka-javascript';
import pRetry from 'p-retry';
import { afterAll, describe, expect, it } from 'vitest';
import { type KafkaBroker, requestApiVersions, startKafkaBroker } from '../../tools/kafka/broker.js';
import { ClusterInspector, type KafkaCluster, startTestCluster } from '../support/kafka-cluster.js';

// The first run downloads the Kafka jars with Maven; later runs start in a few seconds.
const START_TIMEOUT_MS = 240_000;

function hostPort(bootstrapServers: string): [string, number] {
  const [host, port] = bootstrapServers.split(':');
  return [host ?? '', Number(port)];
}

/** Resolves with the connect error code, or 'connected' when something still listens. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.connect(port, host);
  });
}

/** A TCP forwarder on a free port, to a target set later: a stand-in for a proxy such as Toxiproxy. */
async function forwarder(): Promise<{ server: Server; port: number; target: { port: number } }> {
  const target = { port: 0 };
  const server = createServer((socket) => {
    const upstream = connect(target.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port, target };
}

// Each broker start costs a JVM, the suite's dearest resource: the two cases chain their checks
// on as few starts as they can, and run side by side.
describe.concurrent('tools/kafka/broker', () => {
  const started: KafkaBroker[] = [];
  const start = async (dataDir?: string, port?: number): Promise<KafkaBroker> => {
    const broker = await startKafkaBroker({ ...(dataDir ? { dataDir } : {}), ...(port ? { port } : {}) });
    started.push(broker);
    return broker;
  };
  const clusters: KafkaCluster[] = [];
  afterAll(async () => {
    await Promise.all([...started.map((broker) => broker.stop()), ...clusters.map((cluster) => cluster.close())]);
  });

  it(
    'starts a broker that answers ApiVersions, stops it, and starts one on that fixed port when asked',
    async () => {
      const broker = await start();
      const [host, port] = hostPort(broker.bootstrapServers);
      expect(host).toBe('127.0.0.1');

      const versions = await requestApiVersions(host, port);
      const keys = new Set(versions.map((range) => range.apiKey));
      for (const apiKey of [0, 1, 3, 18, 19]) expect(keys).toContain(apiKey); // Produce, Fetch, Metadata, ApiVersions, CreateTopics
      for (const range of versions) expect(range.maxVersion).toBeGreaterThanOrEqual(range.minVersion);

      const stopping = broker.stop();
      expect(broker.stop()).toBe(stopping);
      await stopping;
      expect(await tryConnect(host, port)).toBe('ECONNREFUSED');
      expect(existsSync(dirname(broker.serverLog))).toBe(false);
      await expect(broker.exited).resolves.not.toBeUndefined();

      const fixed = await start(undefined, port);
      expect(fixed.port).toBe(port);
      expect(fixed.bootstrapServers).toBe(`127.0.0.1:${port}`);
      expect(await requestApiVersions(host, port)).not.toHaveLength(0);
    },
    START_TIMEOUT_MS,
  );

  it(
    'restarts on a persistent data directory with new ports; kill() crashes it, restart() brings it back on the same port and data dir',
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'pizza-kafka-test-data-'));
      try {
        const first = await start(dataDir);
        await first.stop();
        expect(existsSync(join(dataDir, 'meta.properties'))).toBe(true);

        const second = await start(dataDir);
        const [host, port] = hostPort(second.bootstrapServers);
        expect(await requestApiVersions(host, port)).not.toHaveLength(0);
        expect(second.logDir).toBe(dataDir);

        await second.kill();
        await expect(second.exited).resolves.toBeNull(); // Killed by a signal, not an exit code.
        expect(await tryConnect(host, port)).toBe('ECONNREFUSED');

        const third = await second.restart();
        started.push(third);
        expect(third.bootstrapServers).toBe(second.bootstrapServers);
        expect(third.controllerPort).toBe(second.controllerPort);
        expect(third.logDir).toBe(dataDir);
        expect(await requestApiVersions(host, port)).not.toHaveLength(0);
        await third.stop();
        await second.stop();
        expect(existsSync(join(dataDir, 'meta.properties'))).toBe(true);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    START_TIMEOUT_MS,
  );

  it(
    'starts a 3-broker cluster whose replicated topics span all three, with a proxied listener per broker',
    async () => {
      const proxies = await Promise.all([0, 1, 2].map(() => forwarder()));
      try {
        const cluster = await startTestCluster({
          proxyListener: { advertisedPort: (index) => proxies[index]?.port ?? -1 },
        });
        clusters.push(cluster);
        expect(cluster.nodeIds).toEqual([1, 2, 3]);
        expect(cluster.bootstrapServers.split(',')).toHaveLength(3);
        for (const [index, proxy] of proxies.entries()) {
          const broker = cluster.broker(index + 1);
          expect(broker.proxied?.advertisedPort).toBe(proxy.port);
          proxy.target.port = broker.proxied?.port ?? -1;
        }
        expect(cluster.nodeIds).toContain(await cluster.activeController());

        const inspector = await ClusterInspector.connect(cluster);
        try {
          const viaProxy = new pkg.KafkaJS.Kafka({}).admin({
            'bootstrap.servers': `127.0.0.1:${proxies[0]?.port}`,
          } as never);
          await viaProxy.connect();
          await viaProxy.createTopics({ topics: [{ topic: 'replicated', numPartitions: 3, replicationFactor: 3 }] });
          // Every broker this client learns of is a proxy's port: it never bypasses the proxies.
          // The broker that answers may not know a topic created a moment ago on the controller yet.
          const [metadata] = await pRetry(() => viaProxy.fetchTopicMetadata({ topics: ['replicated'] }), {
            retries: 20,
            minTimeout: 250,
            maxTimeout: 1_000,
          });
          await viaProxy.disconnect();
          const advertised = new Set(metadata?.partitions.map((partition) => partition.leaderNode?.port));
          for (const port of advertised) expect(proxies.map((proxy) => proxy.port)).toContain(port);

          await inspector.waitInSync(['replicated'], 30_000);
          const partitions = await inspector.partitions('replicated');
          expect(partitions.map((partition) => partition.replicas.length)).toEqual([3, 3, 3]);
          expect(new Set(partitions.map((partition) => partition.leader))).toEqual(new Set([1, 2, 3]));
        } finally {
          await inspector.close();
        }
        await cluster.close();
      } finally {
        for (const proxy of proxies) proxy.server.close();
      }
    },
    START_TIMEOUT_MS,
  );
});
