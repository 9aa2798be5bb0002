import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { KafkaClients } from '../../src/adapters/kafka/client.js';
import { type RunningPizza, startPizza } from '../support/cli.js';
import { ShopHttpClient } from '../support/http-client.js';
import { writeShopIni } from '../support/ini.js';
import { createTopics, deleteTopics, kafkaBootstrap, kafkaTestSettings, readTopic } from '../support/kafka.js';

/**
 * Two web hosts as separate processes with their own data dirs, sharing only
 * the broker and the ini (topics, groups, session secret): a logout on one is
 * a logout on both (issue 11).
 */
describe('sessions across web hosts on Kafka', () => {
  it('a session works on both serve hosts, and after logging out on host A its cookie is refused on host B', async () => {
    const settings = kafkaTestSettings();
    const { sessions, ...others } = settings.topics;
    await createTopics([...new Set(Object.values(others))], settings.topicConfig.numPartitions);
    // The sessions topic as topics:check makes it: compacted, and kept as long as a session lives.
    const admin = new KafkaClients({ 'bootstrap.servers': kafkaBootstrap() }, pino({ level: 'silent' })).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic: sessions,
            numPartitions: settings.topicConfig.numPartitions,
            replicationFactor: 1,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact,delete' },
              { name: 'retention.ms', value: String(settings.shop.sessionHours * 3_600_000) },
            ],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    onTestFinished(() => deleteTopics([sessions]));
    const ini = writeShopIni(settings, {
      port: 0,
      status_source: 'topics',
      session_secret: 'shared-by-every-web-host-0123456789abcdef',
    });
    const running: RunningPizza[] = [];
    onTestFinished(async () => {
      await Promise.all(running.map((pizza) => pizza.stop()));
    });
    const webHost = async (name: string) => {
      const dir = join(settings.shop.dataDir, name);
      mkdirSync(dir, { recursive: true });
      const pizza = startPizza(['serve', '--config', ini, '--data-dir', dir, '--log-dir', join(dir, 'logs')]);
      running.push(pizza);
      return (await pizza.waitForLine(/pizza shop open at (http:\/\/[^\s"]+)/, 60_000))[1] ?? '';
    };
    const [urlA, urlB] = await Promise.all([webHost('web-a'), webHost('web-b')]);

    const customer = new ShopHttpClient(urlA);
    await customer.login('roaming');
    const stolen = customer.cookieHeader();
    const menuOnB = async () =>
      (await fetch(`${urlB}/menu`, { headers: { cookie: stolen }, redirect: 'manual' })).status;
    expect(await menuOnB()).toBe(200);

    await customer.logout();
    const loggedOutAt = Date.now();
    await vi.waitFor(
      async () => expect(await menuOnB(), 'host B refusing the logged-out cookie (303 to login)').toBe(303),
      { timeout: 30_000, interval: 50 },
    );
    const refusedAfterMs = Date.now() - loggedOutAt;
    // On host A at once.
    expect((await fetch(`${urlA}/menu`, { headers: { cookie: stolen }, redirect: 'manual' })).status).toBe(303);

    const [revocation] = await readTopic(settings.topics.sessions, 1);
    const value = JSON.parse(revocation?.value.toString('utf8') ?? '{}');
    expect(revocation?.key).toBe(value.sessionId);
    expect(value.expiresAt).toBeGreaterThan(Date.now());
    console.log(`sessions on Kafka: the logged-out cookie refused on the other web host after ${refusedAfterMs} ms`);
  }, 120_000);
});
