import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import { PizzaError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pizza-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function configFailure(run: () => unknown): PizzaError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PizzaError);
    expect((error as PizzaError).exitCode).toBe(2);
    return error as PizzaError;
  }
  throw new Error('expected a config error');
}

describe('settings', () => {
  it('refuses a heartbeat interval that is not well below the session timeout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-settings-'));
    const file = join(dir, 'system.ini');
    writeFileSync(file, '[pizza-shop]\nsession_timeout_ms = 6000\nheartbeat_interval_ms = 3000\n');
    expect(() => loadSettings({ systemConfig: file })).toThrow(
      /heartbeat_interval_ms = 3000.*session_timeout_ms = 6000/,
    );
  });

  it("has the workshop's defaults built in, and no Kafka without a config", () => {
    const settings = loadSettings();
    expect(settings.kafka).toBeUndefined();
    // The workshop's topics; pizza's own (dead letters, logs, ...) come on top.
    expect(settings.topics).toMatchObject({
      ordered: 'pizza-ordered',
      assembled: 'pizza-assembled',
      baked: 'pizza-baked',
      delivered: 'pizza-delivered',
      pending: 'pizza-pending',
      status: 'pizza-status',
      deadLetter: 'pizza-dead-letter',
    });
    expect(settings.shop.sessionTimeoutMs).toBe(6000);
    expect(settings.shop.heartbeatIntervalMs).toBe(1500);
    expect(settings.topicConfig).toMatchObject({ numPartitions: 1, replicationFactor: 3 });
    expect(settings.statuses.ids.delivered).toBe(999);
    expect(settings.statuses.completedIds).toEqual([999, 499]);
    expect(settings.menu.extraToppings).toContain('Fresh garlic');
    expect(settings.orders.stuckAfterMinutes).toBe(0.75);
    expect(settings.shop.port).toBe(8000);
    expect(settings.shop.statusSource).toBe('topics');
  });

  it('hands every [kafka] property to the client unchanged', () => {
    const config = file(
      'cloud.ini',
      '[kafka]\nbootstrap.servers = pkc-1.example:9092\nsecurity.protocol = SASL_SSL\nsasl.mechanisms = PLAIN\nsasl.username = KEY\nsasl.password = p@ss=word\n',
    );
    const settings = loadSettings({ config });
    expect(settings.kafka).toEqual({
      'bootstrap.servers': 'pkc-1.example:9092',
      'security.protocol': 'SASL_SSL',
      'sasl.mechanisms': 'PLAIN',
      'sasl.username': 'KEY',
      'sasl.password': 'p@ss=word',
    });
    expect(settings.shop.statusSource).toBe('pizza-status');
  });

  it("reads the workshop's default.ini format, multi-line lists included, from --system-config", () => {
    const system = file(
      'default.ini',
      '[kafka-topics]\npizza_ordered = shop-ordered\n\n[pizza]\nsauce =\n    Tomato\n    BBQ\n\n[state-store-orders]\nstatus_completed_when =\n    delivered\n',
    );
    const settings = loadSettings({ systemConfig: system });
    expect(settings.topics.ordered).toBe('shop-ordered');
    expect(settings.topics.baked).toBe('pizza-baked');
    expect(settings.menu.sauce).toEqual(['Tomato', 'BBQ']);
    expect(settings.statuses.completedIds).toEqual([999]);
  });

  it('lets flags win over files', () => {
    const config = file(
      'flags.ini',
      '[kafka]\nbootstrap.servers = 127.0.0.1:9092\n[pizza-shop]\ntime_scale = 2\nport = 9000\n',
    );
    const settings = loadSettings({ config, timeScale: '0.5', capacity: '3' });
    expect(settings.shop.timeScale).toBe(0.5);
    expect(settings.shop.port).toBe(9000);
    expect(settings.shop.capacity).toEqual({ assemble: 3, bake: 3, deliver: 3, status: 3 });
  });

  it("rejects the workshop's placeholders, naming the file, the key and the fix", () => {
    const error = configFailure(() => loadSettings({ config: 'example.ini' }));
    expect(error.message).toContain('example.ini:2');
    expect(error.message).toContain('bootstrap.servers');
    expect(error.message).toContain('{{ host:port }}');
    expect(error.message).toContain('Replace it');
  });

  it('names a missing file', () => {
    expect(configFailure(() => loadSettings({ config: join(dir, 'nope.ini') })).message).toMatch(
      /nope\.ini does not exist/,
    );
  });

  it('names a bad value and what would be valid', () => {
    const config = file(
      'bad.ini',
      '[kafka]\nbootstrap.servers = b:9092\n[kafka-topic-config]\nnum_partitions = many\n',
    );
    const error = configFailure(() => loadSettings({ config }));
    expect(error.message).toContain('bad.ini:4');
    expect(error.message).toContain('num_partitions');
    expect(error.message).toContain('whole number');
  });

  it('names a bad flag', () => {
    expect(configFailure(() => loadSettings({ timeScale: 'fast' })).message).toContain('--time-scale');
    expect(configFailure(() => loadSettings({ port: '70000' })).message).toContain('--port');
  });

  it('rejects an unknown status name in a list', () => {
    const system = file('statuses.ini', '[state-store-orders]\nstatus_completed_when =\n    delivered\n    eaten\n');
    const error = configFailure(() => loadSettings({ systemConfig: system }));
    expect(error.message).toContain('statuses.ini:2');
    expect(error.message).toContain('"eaten"');
  });

  it('needs a [kafka] section in a --config file', () => {
    const config = file('nokafka.ini', '[pizza-shop]\nport = 8001\n');
    expect(configFailure(() => loadSettings({ config })).message).toContain('[kafka]');
  });

  it('reports a line that is not ini', () => {
    const config = file('garbage.ini', '[kafka]\nthis is not a setting\n');
    expect(configFailure(() => loadSettings({ config })).message).toContain('garbage.ini:2');
  });
});
