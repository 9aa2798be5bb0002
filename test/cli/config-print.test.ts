import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeSettings } from '../../src/config/describe.js';
import { isSecretSetting } from '../../src/config/masking.js';
import { loadSettingLayers } from '../../src/config/settings.js';
import { pizzaBin, repoRoot } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pizza-config-print-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRETS = {
  password: 'pw-from-file-1',
  jaas: 'jaas-secret-2',
  oauthSecret: 'oauth-secret-3',
  keyPassword: 'key-password-4',
  registry: 'REGKEY:regsecret-5',
  session: 'session-secret-6',
  envPassword: 'pw-from-env-7',
};

const config = join(dir, 'client.ini');
writeFileSync(
  config,
  [
    '[kafka]',
    'bootstrap.servers = broker:9092',
    'sasl.username = APIKEY',
    `sasl.password = ${SECRETS.password}`,
    `sasl.jaas.config = x required password="${SECRETS.jaas}";`,
    `sasl.oauthbearer.client.secret = ${SECRETS.oauthSecret}`,
    `ssl.key.password = ${SECRETS.keyPassword}`,
    'ssl.key.location = /etc/pizza/client.key',
    '[schema-registry]',
    'url = https://registry.example',
    `basic.auth.user.info = ${SECRETS.registry}`,
    '[pizza-shop]',
    `session_secret = ${SECRETS.session}`,
    'host = 10.0.0.1',
    '',
  ].join('\n'),
);

/** Runs the built `pizza` with exactly these PIZZA__ variables (`npm test` builds it first). */
function pizza(args: string[], env: Record<string, string> = {}) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PIZZA__')));
  const result = spawnSync(process.execPath, [pizzaBin, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...inherited, ...env },
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('pizza config:print', () => {
  const env = { PIZZA__KAFKA__SASL_2E_PASSWORD: SECRETS.envPassword, PIZZA__PIZZA_2D_SHOP__PORT: '8100' };

  it('prints every setting with its source, and no secret', () => {
    const result = pizza(['config:print', '--config', config, '--time-scale', '0.5'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const secret of Object.values(SECRETS)) expect(result.stdout).not.toContain(secret);
    const line = (key: string) => result.stdout.split('\n').find((text) => text.startsWith(`${key} =`)) ?? '';
    expect(line('sasl.password')).toMatch(/^sasl\.password = \*{4} +# env PIZZA__KAFKA__SASL_2E_PASSWORD$/);
    expect(line('sasl.username')).toMatch(new RegExp(`^sasl\\.username = APIKEY +# file ${config}:3$`));
    expect(line('bootstrap.servers')).toContain('broker:9092');
    expect(line('ssl.key.location')).toContain('/etc/pizza/client.key');
    expect(line('session_secret')).toMatch(/= \*{4} +# file /);
    expect(line('port')).toMatch(/^port = 8100 +# env PIZZA__PIZZA_2D_SHOP__PORT$/);
    expect(line('time_scale')).toMatch(/^time_scale = 0\.5 +# flag --time-scale$/);
    expect(line('replication_factor')).toMatch(/^replication_factor = 3 +# built-in$/);
    expect(line('sauce')).toContain('Tomato, Organic tomato, Pesto');
  });

  it('prints the same as JSON, a value and a source per key', () => {
    const result = pizza(['config:print', '--config', config, '--json'], env);
    expect(result.code).toBe(0);
    for (const secret of Object.values(SECRETS)) expect(result.stdout).not.toContain(secret);
    const { sections } = JSON.parse(result.stdout);
    expect(sections.kafka['sasl.password']).toEqual({
      value: '****',
      masked: true,
      source: { kind: 'env', variable: 'PIZZA__KAFKA__SASL_2E_PASSWORD' },
    });
    expect(sections.kafka['sasl.username']).toEqual({
      value: 'APIKEY',
      masked: false,
      source: { kind: 'file', file: config, line: 3 },
    });
    expect(sections['schema-registry']['basic.auth.user.info'].masked).toBe(true);
    expect(sections['kafka-topics'].pizza_ordered).toEqual({
      value: 'pizza-ordered',
      masked: false,
      source: { kind: 'built-in' },
    });
  });

  it('stops on a bad variable with one line naming it, and exit code 2', () => {
    const result = pizza(['config:print'], { PIZZA__STATE_2D_STORE_2D_ORDERS__STATUS_INVALID_TIMEOUT_MINUTES: 'soon' });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'pizza: environment variable PIZZA__STATE_2D_STORE_2D_ORDERS__STATUS_INVALID_TIMEOUT_MINUTES: [state-store-orders] status_invalid_timeout_minutes = "soon" is not valid: use a number of minutes.\n',
    );
  });

  it('masks secrets by name in the open-ended client sections, and only there', () => {
    for (const key of ['sasl.password', 'sasl.jaas.config', 'sasl.oauthbearer.client.secret', 'ssl.key.password']) {
      expect(isSecretSetting('kafka', key), key).toBe(true);
    }
    expect(isSecretSetting('kafka', 'ssl.key.pem')).toBe(true);
    expect(isSecretSetting('kafka', 'sasl.oauthbearer.token.endpoint.url')).toBe(true);
    expect(isSecretSetting('kafka', 'bootstrap.servers')).toBe(false);
    expect(isSecretSetting('kafka', 'ssl.key.location')).toBe(false);
    expect(isSecretSetting('schema-registry', 'basic.auth.user.info')).toBe(true);
    expect(isSecretSetting('pizza-shop', 'session_secret')).toBe(true);
    // A topic named like a secret is not one.
    expect(isSecretSetting('kafka-topics', 'pizza_token')).toBe(false);
    const described = describeSettings(loadSettingLayers({}, { env: { PIZZA__PIZZA_2D_SHOP__SESSION_SECRET: 'x' } }));
    expect(described.find((setting) => setting.key === 'session_secret')).toMatchObject({
      value: '****',
      masked: true,
    });
  });
});
