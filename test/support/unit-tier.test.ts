import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { kafkaBootstrap } from './kafka.js';

describe('the unit tier', () => {
  it('refuses to start a process, and names the lists of the integration tier', () => {
    expect(() => spawn('node', ['--version'])).toThrow(/belongs in the integration tier.*EMBEDDED.*KAFKA/);
    expect(() => spawnSync('java', ['-version'])).toThrow(/belongs in the integration tier/);
  });

  it('has no broker: the Kafka helpers say where a test that needs one belongs', () => {
    expect(() => kafkaBootstrap()).toThrow(/belongs in the integration tier.*KAFKA in vitest\.config\.ts/);
  });
});
