import { describe, expect, it, onTestFinished } from 'vitest';
import type { RoleName, Settings } from '../../src/config/settings.js';
import { type RunningPizza, runPizza, startPizza } from '../support/cli.js';
import { ShopHttpClient } from '../support/http-client.js';
import { writeShopIni } from '../support/ini.js';
import { createShopTopics, kafkaTestSettings } from '../support/kafka.js';

/** The ini a user would write for this test's broker, topics and groups. */
function writeConfig(settings: Settings): string {
  return writeShopIni(settings, {
    time_scale: '0.01',
    status_source: 'topics',
    port: 0,
    data_dir: settings.shop.dataDir,
    log_dir: settings.shop.logDir,
  });
}

describe('one role per process, as in one terminal each', () => {
  it('delivers an order placed over HTTP, and the web app shows another process’s log lines', async () => {
    const settings = kafkaTestSettings();
    await createShopTopics(settings);
    const config = writeConfig(settings);

    const roles: RoleName[] = ['status', 'deliver', 'bake', 'assemble', 'serve'];
    const processes = new Map<RoleName, RunningPizza>();
    onTestFinished(async () => {
      await Promise.all([...processes.values()].map((pizza) => pizza.stop()));
    });
    for (const role of roles) processes.set(role, startPizza([role, '--config', config]));
    for (const [role, pizza] of processes) {
      await pizza.waitForLine(role === 'serve' ? /pizza shop open at/ : /pizza \w+ running/, 60_000);
    }
    const [, url] = await (processes.get('serve') as RunningPizza).waitForLine(/pizza shop open at (http:\/\/[^\s"]+)/);

    const customer = new ShopHttpClient(url ?? '');
    await customer.login('terminals');
    const orderId = await customer.order({
      sauce: 'Marinara',
      cheese: 'Ricotta',
      mainTopping: 'Sausage',
      extraToppings: [],
    });
    const page = await customer.waitForPage(`/orders/${orderId}`, 'Your pizza was delivered', 60_000);
    expect(page).toContain('Your pizza was delivered');

    // bake ran in another process; its lines reach the web app through the log topic.
    expect(await customer.waitForPage(`/orders/${orderId}/logs/bake`, 'Baking your pizza', 30_000)).toContain(
      'Baking your pizza',
    );

    for (const [role, pizza] of processes) {
      expect(await pizza.stop(), `${role} exit code`).toBe(0);
      expect(pizza.output(), `${role} output`).toContain('stopped cleanly');
    }
  });

  it.each(['serve', 'bake', 'deliver'])(
    'refuses to start %s while its topics are missing, naming them and the fix',
    (role) => {
      const settings = kafkaTestSettings();
      const config = writeConfig(settings);
      const result = runPizza([role, '--config', config]);
      expect(result.code).toBe(1);
      const expected = {
        serve: settings.topics.ordered,
        bake: settings.topics.assembled,
        deliver: settings.topics.baked,
      };
      expect(result.stderr).toContain(expected[role as keyof typeof expected]);
      expect(result.stderr).toContain('pizza topics:check');
      expect(result.stderr).toContain('--create');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    },
  );
});
