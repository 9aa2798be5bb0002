import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type KafkaBroker, requestApiVersions, startKafkaBroker } from '../../tools/kafka/broker.js';

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

// Each broker start costs a JVM, the suite's dearest resource: the two cases chain their checks
// on as few starts as they can, and run side by side.
describe.concurrent('tools/kafka/broker', () => {
  const started: KafkaBroker[] = [];
  const start = async (dataDir?: string, port?: number): Promise<KafkaBroker> => {
    const broker = await startKafkaBroker({ ...(dataDir ? { dataDir } : {}), ...(port ? { port } : {}) });
    started.push(broker);
    return broker;
  };
  afterAll(async () => {
    await Promise.all(started.map((broker) => broker.stop()));
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
});
