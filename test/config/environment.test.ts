import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSettingVariableName, settingVariableName } from '../../src/config/environment.js';
import { loadSettingLayers, loadSettings } from '../../src/config/settings.js';
import { PizzaError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pizza-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
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

describe('the PIZZA__<SECTION>__<KEY> naming rule', () => {
  it.each([
    ['kafka', 'sasl.password', 'PIZZA__KAFKA__SASL_2E_PASSWORD'],
    ['pizza-shop', 'session_secret', 'PIZZA__PIZZA_2D_SHOP__SESSION_SECRET'],
    ['kafka-topics', 'pizza_ordered', 'PIZZA__KAFKA_2D_TOPICS__PIZZA_ORDERED'],
    [
      'state-store-orders',
      'status_invalid_timeout_minutes',
      'PIZZA__STATE_2D_STORE_2D_ORDERS__STATUS_INVALID_TIMEOUT_MINUTES',
    ],
    ['schema-registry', 'basic.auth.user.info', 'PIZZA__SCHEMA_2D_REGISTRY__BASIC_2E_AUTH_2E_USER_2E_INFO'],
  ])('spells [%s] %s as %s, and reads it back', (section, key, variable) => {
    expect(settingVariableName(section, key)).toBe(variable);
    expect(parseSettingVariableName(variable)).toEqual({ section, key });
  });

  it('reads back every tricky name as it was written: underscores at the ends, doubled, next to escapes, or spelling an escape', () => {
    const tricky = [
      '_',
      '__',
      '-',
      '.',
      '_a',
      'a_',
      'a__b',
      'a_-b',
      'a-_b',
      'a._b',
      'a_.b',
      'a.-_b',
      'a_2d_b',
      'a_2e',
      'a_5f_',
      'a_2dx_b',
      '2d',
      '_2e_',
      'x-2e-y',
      'a_2d-b',
      'sasl.oauthbearer.client.secret',
      'ssl.key.pem',
    ];
    for (const section of ['kafka', 'x_', '-y', 'a_2e']) {
      for (const key of tricky) {
        const variable = settingVariableName(section, key);
        expect(variable, `[${section}] ${key}`).toMatch(/^[A-Z0-9_]+$/);
        expect(parseSettingVariableName(variable), variable).toEqual({ section, key });
      }
    }
  });

  it('reads back random names over the letters that matter, and spells different names differently', () => {
    const alphabet = 'a25def_.-';
    let seed = 12345;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    const seen = new Map<string, string>();
    for (let run = 0; run < 5_000; run += 1) {
      const length = 1 + (next() % 8);
      const key = Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
      const variable = settingVariableName('kafka', key);
      expect(parseSettingVariableName(variable), `${key} as ${variable}`).toEqual({ section: 'kafka', key });
      expect(seen.get(variable) ?? key).toBe(key);
      seen.set(variable, key);
    }
  });

  it('says what is wrong with a variable that names no setting', () => {
    expect(parseSettingVariableName('PIZZA__KAFKA')).toEqual({
      problem: expect.stringContaining('one section and one key'),
    });
    expect(parseSettingVariableName('PIZZA__A__B__C')).toEqual({
      problem: expect.stringContaining('one section and one key'),
    });
    expect(parseSettingVariableName('PIZZA____KEY')).toEqual({ problem: 'has an empty section' });
    expect(() => settingVariableName('kafka', 'Sasl Password')).toThrow(/cannot be written/);
  });
});

describe('settings from the environment', () => {
  const cloud = () => file('cloud.ini', '[kafka]\nbootstrap.servers = file:9092\nsasl.password = from-file\n');

  it('carries a [kafka] secret, the session secret, a topic name and a watchdog timeout', () => {
    const settings = loadSettings(
      {},
      {
        env: {
          PIZZA__KAFKA__BOOTSTRAP_2E_SERVERS: 'env:9092',
          PIZZA__KAFKA__SASL_2E_PASSWORD: 's3cret',
          PIZZA__PIZZA_2D_SHOP__SESSION_SECRET: 'signing-key',
          PIZZA__KAFKA_2D_TOPICS__PIZZA_ORDERED: 'shop1.ordered',
          PIZZA__STATE_2D_STORE_2D_ORDERS__STATUS_INVALID_TIMEOUT_MINUTES: '2.5',
          HOME: '/root',
          PIZZA_TEST_KAFKA: 'not ours: one underscore',
        },
      },
    );
    expect(settings.kafka).toEqual({ 'bootstrap.servers': 'env:9092', 'sasl.password': 's3cret' });
    expect(settings.shop.sessionSecret).toBe('signing-key');
    expect(settings.topics.ordered).toBe('shop1.ordered');
    expect(settings.orders.stuckAfterMinutes).toBe(2.5);
  });

  it('ranks flags over the environment, the environment over --config, --config over --system-config, and that over the built-ins', () => {
    const system = file('system.ini', '[pizza-shop]\nport = 8001\nhost = 0.0.0.0\ntime_scale = 3\nbake_capacity = 2\n');
    const config = file(
      'client.ini',
      '[kafka]\nbootstrap.servers = b:9092\n[pizza-shop]\nport = 8002\nhost = 10.0.0.1\n',
    );
    const env = { PIZZA__PIZZA_2D_SHOP__PORT: '8003', PIZZA__PIZZA_2D_SHOP__BAKE_CAPACITY: '5' };
    const flags = { systemConfig: system, config, port: '8004' };
    const settings = loadSettings(flags, { env });
    expect(settings.shop.port).toBe(8004); // flag
    expect(settings.shop.capacity.bake).toBe(5); // environment
    expect(settings.shop.host).toBe('10.0.0.1'); // --config
    expect(settings.shop.timeScale).toBe(3); // --system-config
    expect(settings.shop.capacity.assemble).toBe(8); // built-in
    expect(loadSettings({ systemConfig: system, config }, { env }).shop.port).toBe(8003);

    const origins = loadSettingLayers(flags, { env }).get('pizza-shop');
    expect(origins?.get('port')?.origin.kind).toBe('flag');
    expect(origins?.get('bake_capacity')?.origin).toEqual({
      kind: 'env',
      source: 'environment variable PIZZA__PIZZA_2D_SHOP__BAKE_CAPACITY',
    });
    expect(origins?.get('host')?.origin).toEqual({ kind: 'file', source: config, line: 5 });
    expect(origins?.get('assemble_capacity')?.origin.kind).toBe('built-in');
  });

  it('overrides one [kafka] property of the file and keeps the others', () => {
    const settings = loadSettings({ config: cloud() }, { env: { PIZZA__KAFKA__SASL_2E_PASSWORD: 'rotated' } });
    expect(settings.kafka).toEqual({ 'bootstrap.servers': 'file:9092', 'sasl.password': 'rotated' });
  });

  it('reads nothing from the environment unless given one', () => {
    process.env.PIZZA__PIZZA_2D_SHOP__PORT = '8123';
    try {
      expect(loadSettings().shop.port).toBe(8000);
    } finally {
      delete process.env.PIZZA__PIZZA_2D_SHOP__PORT;
    }
  });

  it('names the variable of a bad value, in one line, and what would be valid', () => {
    const error = configFailure(() => loadSettings({}, { env: { PIZZA__PIZZA_2D_SHOP__PORT: 'eighty' } }));
    expect(error.message).toBe(
      'environment variable PIZZA__PIZZA_2D_SHOP__PORT: [pizza-shop] port = "eighty" is not valid: use a TCP port from 0 to 65535.',
    );
  });

  it('names the variable that still holds a placeholder', () => {
    const error = configFailure(() =>
      loadSettings({ config: cloud() }, { env: { PIZZA__KAFKA__SASL_2E_PASSWORD: '{{ CLUSTER_API_SECRET }}' } }),
    );
    expect(error.message).toContain('environment variable PIZZA__KAFKA__SASL_2E_PASSWORD');
    expect(error.message).toContain('{{ CLUSTER_API_SECRET }}');
  });

  it('refuses a misspelt section or key instead of ignoring it, and suggests the spelling', () => {
    const section = configFailure(() => loadSettings({}, { env: { PIZZA__PIZZA_SHOP__PORT: '8001' } }));
    expect(section.message).toContain('environment variable PIZZA__PIZZA_SHOP__PORT');
    expect(section.message).toContain('Did you mean [pizza-shop] (PIZZA__PIZZA_2D_SHOP__PORT)?');
    const key = configFailure(() =>
      loadSettings({}, { env: { PIZZA__STATE_2D_STORE_2D_ORDERS__STATUS_INVALID_TIMEOUT_2E_MINUTES: '1' } }),
    );
    expect(key.message).toContain(
      'Did you mean status_invalid_timeout_minutes (PIZZA__STATE_2D_STORE_2D_ORDERS__STATUS_INVALID_TIMEOUT_MINUTES)?',
    );
    const shape = configFailure(() => loadSettings({}, { env: { PIZZA__KAFKA: 'x' } }));
    expect(shape.message).toMatch(/^environment variable PIZZA__KAFKA does not name one section and one key/);
    for (const error of [section, key, shape]) expect(error.message.split('\n')).toHaveLength(1);
  });

  it('runs on Kafka when the environment alone gives bootstrap.servers', () => {
    const settings = loadSettings({}, { env: { PIZZA__KAFKA__BOOTSTRAP_2E_SERVERS: 'b:9092' } });
    expect(settings.kafka).toEqual({ 'bootstrap.servers': 'b:9092' });
    expect(settings.shop.statusSource).toBe('pizza-status');
  });
});
