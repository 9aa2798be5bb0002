import { describe, expect, it } from 'vitest';
import { createMissingTopics } from '../../../src/adapters/kafka/topic-creation.js';
import { flinkCreatesStatusTopic, inspectTopics, isConfluentCloud } from '../../../src/adapters/kafka/topics.js';
import { loadSettings } from '../../../src/config/settings.js';
import { recordingAdmin } from '../../support/fake-admin.js';

const withBootstrap = (servers: string) => ({ ...loadSettings(), kafka: { 'bootstrap.servers': servers } });

describe('who creates the pizza-status topic', () => {
  it('leaves it to the Flink statement on Confluent Cloud', () => {
    expect(flinkCreatesStatusTopic(withBootstrap('pkc-abc12.eu-west-1.aws.confluent.cloud:9092'))).toBe(true);
  });

  it('creates it like any other topic elsewhere (Apache Flink needs it to exist)', () => {
    expect(flinkCreatesStatusTopic(withBootstrap('127.0.0.1:9092'))).toBe(false);
    expect(flinkCreatesStatusTopic(withBootstrap('kafka.confluent.cloud.example.com:9092'))).toBe(false);
  });
});

describe('telling Confluent Cloud', () => {
  const proxy = withBootstrap('kafka-proxy.internal.example:9092');

  it("knows it behind a private link or a proxy by the brokers' advertised names", () => {
    expect(isConfluentCloud(proxy)).toBe(false);
    expect(isConfluentCloud(proxy, ['b0-pkc-abc12.eu-west-1.aws.confluent.cloud'])).toBe(true);
    expect(
      isConfluentCloud(withBootstrap('lkc-abc12-4kgzg.eu-west-1.aws.glb.confluent.cloud:9092,SASL_SSL://other:9092')),
    ).toBe(true);
    expect(isConfluentCloud(proxy, ['broker-1.kafka.svc.cluster.local'])).toBe(false);
  });

  it('takes [pizza-shop] confluent_cloud over any name', () => {
    const said = (choice: 'true' | 'false', servers: string) => ({
      ...withBootstrap(servers),
      shop: { ...withBootstrap(servers).shop, confluentCloud: choice === 'true' },
    });
    expect(isConfluentCloud(said('true', 'kafka-proxy.internal.example:9092'))).toBe(true);
    expect(isConfluentCloud(said('false', 'pkc-abc12.eu-west-1.aws.confluent.cloud:9092'))).toBe(false);
  });
});

describe('topics:check --create on Confluent Cloud', () => {
  const settings = withBootstrap('kafka-proxy.internal.example:9092');

  it('creates every topic but pizza-status with 3 replicas, and says which it leaves and why', async () => {
    const requests: Array<{ topic: string; replicationFactor?: number }> = [];
    const admin = recordingAdmin(requests);
    const report = await inspectTopics(admin, settings, { confluentCloud: true });
    const status = report.topics.find((topic) => topic.key === 'status');
    expect(status?.leftForFlink).toBe(true);
    expect(report.problems).toContain(
      'pizza-status does not exist yet: on Confluent Cloud the CREATE TABLE statement from `pizza flink:print` creates it (every topic there is already a table, so a topic made in advance would make that statement fail). Run them, then check again',
    );
    // A proxy that shows one broker does not shrink the factor Confluent Cloud requires.
    const result = await createMissingTopics(admin, settings, report, {
      brokerCount: async () => 1,
      confluentCloud: true,
    });
    expect(result.created).toEqual(Object.values(settings.topics).filter((name) => name !== 'pizza-status'));
    expect(result.created).toHaveLength(11);
    expect(result.leftForFlink).toEqual(['pizza-status']);
    expect(result.notes).toEqual([
      expect.stringMatching(/^pizza-status is left for Flink: .*confluent_cloud = false$/),
    ]);
    expect(requests.every((request) => request.replicationFactor === 3)).toBe(true);
  });

  it('creates all twelve elsewhere', async () => {
    const requests: Array<{ topic: string; replicationFactor?: number }> = [];
    const admin = recordingAdmin(requests);
    const report = await inspectTopics(admin, settings, { confluentCloud: false });
    const result = await createMissingTopics(admin, settings, report, { brokerCount: async () => 3 });
    expect(result.created).toEqual(Object.values(settings.topics));
    expect(result.leftForFlink).toEqual([]);
    expect(requests.map((request) => request.replicationFactor)).toEqual(Array(12).fill(3));
  });
});
