import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runPizza, startPizza } from '../support/cli.js';
import { ShopHttpClient } from '../support/http-client.js';

const dir = mkdtempSync(join(tmpdir(), 'pizza-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SUBCOMMANDS = ['serve', 'assemble', 'bake', 'deliver', 'status', 'all', 'topics:check', 'flink:print'];

describe('the pizza command line', () => {
  it('lists its eight subcommands and has a version', () => {
    const help = runPizza(['--help']);
    expect(help.code).toBe(0);
    for (const command of SUBCOMMANDS) expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    const version = runPizza(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each(SUBCOMMANDS)('explains %s with --help', (command) => {
    const help = runPizza([command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Usage: pizza ${command}`);
    expect(help.stdout).toContain('--config');
    expect(help.stdout.includes('--time-scale')).toBe(!command.includes(':'));
  });

  it("refuses the workshop's example.ini as it ships: one clear line, exit 2, no stack trace", () => {
    const result = runPizza(['bake', '--config', join(repoRoot, 'example.ini')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('example.ini:2');
    expect(result.stderr).toContain('{{ host:port }}');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a missing config file and a bad flag value, with exit 2', () => {
    const missing = runPizza(['all', '--config', join(dir, 'missing.ini')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing.ini does not exist');
    const badScale = runPizza(['all', '--time-scale', 'soon']);
    expect(badScale.code).toBe(2);
    expect(badScale.stderr).toContain('--time-scale');
  });

  it('names an unknown status in a list of a workshop system file', () => {
    const system = join(dir, 'default.ini');
    writeFileSync(system, '[state-store-orders]\nstatus_completed_when =\n    delivered\n    devoured\n');
    const result = runPizza(['status', '--system-config', system]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"devoured"');
  });

  it('runs the whole shop with `pizza all` on the embedded bus: an HTTP order ends delivered', async () => {
    const data = join(dir, 'all');
    const pizza = startPizza([
      'all',
      '--port',
      '0',
      '--time-scale',
      '0.01',
      '--data-dir',
      data,
      '--log-dir',
      join(data, 'logs'),
    ]);
    try {
      const [, url] = await pizza.waitForLine(/pizza shop open at (http:\/\/[^\s"]+)/);
      const client = new ShopHttpClient(url ?? '');
      await client.login('e2e');
      const orderId = await client.order({
        sauce: 'Hummus',
        cheese: 'Cheddar',
        mainTopping: 'Pork',
        extraToppings: ['Egg'],
      });
      const page = await client.waitForPage(`/orders/${orderId}`, 'Your pizza was delivered', 30_000);
      expect(page).toContain('Your pizza was delivered');
    } finally {
      const code = await pizza.stop();
      expect(code).toBe(0);
      expect(pizza.output()).toContain('stopped cleanly');
    }
  });
});
