import { describe, expect, it } from 'vitest';
import { flinkCreatesStatusTopic } from '../../../src/adapters/kafka/topics.js';
import { loadSettings } from '../../../src/config/settings.js';

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
