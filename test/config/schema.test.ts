import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtInDefaults, knownSettings, settingsCatalog } from '../../src/config/catalog.js';
import { describeSettings } from '../../src/config/describe.js';
import { parseSettingVariableName } from '../../src/config/environment.js';
import { isSecretSetting } from '../../src/config/masking.js';
import { loadSettingLayers, loadSettings } from '../../src/config/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'pizza-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const declared = settingsCatalog().flatMap((section) => section.settings);

/** The workshop's default.ini, as its repository ships it (system settings only). */
const WORKSHOP_DEFAULT_INI = `
[kafka-topics]
pizza_pending = pizza-pending
pizza_ordered = pizza-ordered
pizza_assembled = pizza-assembled
pizza_baked = pizza-baked
pizza_delivered = pizza-delivered
pizza_status = pizza-status

[kafka-topic-config]
num_partitions = 1
replication_factor = 3

[kafka-consumer-group-id]
microservice_status = pizza_status
microservice_ordered = pizza_ordered
microservice_assembled = pizza_assemble
microservice_baked = pizza_bake
microservice_delivery = pizza_delivery

[kafka-client-id]
webapp = pizza_client_webapp
microservice_status = pizza_client_status
microservice_ordered = pizza_client_ordered
microservice_assembled = pizza_client_assemble
microservice_baked = pizza_client_bake
microservice_delivery = pizza_client_delivery

[status-id]
stuck = 50
order_placed = 100
pending = 150
pizza_assembled = 200
pizza_baked = 300
unknown = 410
something_wrong = 430
cancelled = 499
delivered = 999

[status-label]
stuck = Your order is delayed, bear with us!
order_placed = Order received and being prepared
pending = We are checking your order
pizza_assembled = Your pizza is in the oven
pizza_baked = Your pizza is out for delivery
delivered = Your pizza was delivered
unknown = Oops! Unknown order
something_wrong = Oops! Something went wrong, we will refund your order
cancelled = Order has been cancelled
else = Oops! Unknown status

[pizza]
sauce =
    Tomato
    Organic tomato
    Pesto
    Marinara
    Buffalo
    Hummus
cheese =
    Mozzarella
    Provolone
    Cheddar
    Ricotta
    Gouda
    Gruyere
main_topping =
    Pepperoni
    Sausage
    Chicken
    Pork
    Minced meat
    Vegan meat
extra_toppings =
    Mushroom
    Onion
    Egg
    Ham
    Black olives
    Green pepper
    Fresh garlic

[state-store-orders]
name = orders.db
table_orders_retention_hours = 4
table_status_retention_hours = 4
status_watchdog_minutes = 0.25
status_invalid_timeout_minutes = 0.75
status_completed_when =
    delivered
    cancelled

[state-store-delivery]
name = delivery.db
table_customers_retention_hours = 4
`;

describe('the settings schema, the one list of settings', () => {
  it('gives every setting a description, a hint and a PIZZA__* variable that reads back to it', () => {
    expect(declared.length).toBeGreaterThan(80);
    for (const setting of declared) {
      const name = `[${setting.section}] ${setting.key}`;
      expect(setting.description.length, name).toBeGreaterThan(10);
      expect(setting.hint.length, name).toBeGreaterThan(0);
      expect(parseSettingVariableName(setting.env), name).toEqual({ section: setting.section, key: setting.key });
    }
    for (const section of settingsCatalog()) expect(section.description.length, section.section).toBeGreaterThan(10);
  });

  it('has a default for every setting but the secrets and names generated on first run', () => {
    const withoutDefault = declared.filter((setting) => setting.default === undefined).map((setting) => setting.key);
    expect(withoutDefault.sort()).toEqual(['host_id', 'session_secret']);
  });

  it("holds the workshop's defaults: its default.ini read as a file gives the built-in settings", () => {
    const file = join(dir, 'default.ini');
    writeFileSync(file, WORKSHOP_DEFAULT_INI);
    const fromFile = loadSettings({ systemConfig: file });
    const builtIn = loadSettings();
    expect({
      ...fromFile,
      files: [],
      topicConfig: { ...fromFile.topicConfig, replicationFactorIsDefault: true },
    }).toEqual(builtIn);
  });

  it('is what config:print shows as built-in, value for value', () => {
    const described = describeSettings(loadSettingLayers());
    const shown = described.map(({ section, key, value }) => ({ section, key, value }));
    expect(shown).toEqual(builtInDefaults());
    expect(described.every((setting) => setting.source.kind === 'built-in')).toBe(true);
  });

  it('adds the description and the variable with docs, for config:print --describe', () => {
    const port = describeSettings(loadSettingLayers(), { docs: true }).find((setting) => setting.key === 'port');
    expect(port).toMatchObject({ env: 'PIZZA__PIZZA_2D_SHOP__PORT', description: expect.stringContaining('port') });
  });

  it('knows every declared key for the environment, and takes any key in the client sections', () => {
    const known = knownSettings();
    for (const setting of declared) {
      const keys = known.get(setting.section);
      expect(keys !== 'any' && keys?.has(setting.key), `[${setting.section}] ${setting.key}`).toBe(true);
    }
    expect(known.get('kafka')).toBe('any');
    expect(known.get('schema-registry')).toBe('any');
  });

  it('marks the secrets it declares, and no other setting', () => {
    const secrets = declared.filter((setting) => isSecretSetting(setting.section, setting.key));
    expect(secrets.map((setting) => `[${setting.section}] ${setting.key}`)).toEqual(['[pizza-shop] session_secret']);
  });

  it('tells a replication factor nobody set (which topic creation may fit to the cluster) from a chosen 3', () => {
    expect(loadSettings().topicConfig).toEqual({
      numPartitions: 1,
      replicationFactor: 3,
      replicationFactorIsDefault: true,
    });
    const chosen = loadSettings({}, { env: { PIZZA__KAFKA_2D_TOPIC_2D_CONFIG__REPLICATION_FACTOR: '3' } });
    expect(chosen.topicConfig.replicationFactorIsDefault).toBe(false);
  });

  it('reads confluent_cloud as auto, or a choice either way', () => {
    expect(loadSettings().shop.confluentCloud).toBe('auto');
    const on = loadSettings({}, { env: { PIZZA__PIZZA_2D_SHOP__CONFLUENT_CLOUD: 'true' } });
    expect(on.shop.confluentCloud).toBe(true);
    expect(() => loadSettings({}, { env: { PIZZA__PIZZA_2D_SHOP__CONFLUENT_CLOUD: 'yes' } })).toThrow(
      'environment variable PIZZA__PIZZA_2D_SHOP__CONFLUENT_CLOUD: [pizza-shop] confluent_cloud = "yes" is not valid: use auto, true or false.',
    );
  });

  it('names the status id a file gets wrong, as before', () => {
    const file = join(dir, 'ids.ini');
    writeFileSync(file, '[status-id]\nstuck = soon\n');
    expect(() => loadSettings({ systemConfig: file })).toThrow(
      `${file}:2: [status-id] stuck must be a whole number such as 100.`,
    );
  });

  it('names an empty menu list, as before', () => {
    const file = join(dir, 'menu.ini');
    writeFileSync(file, '[pizza]\ncheese =\n');
    expect(() => loadSettings({ systemConfig: file })).toThrow(
      `${file}:2: [pizza] cheese needs at least one item, one per indented line.`,
    );
  });

  it('blames a [kafka] section without bootstrap.servers on its first line', () => {
    const file = join(dir, 'nobootstrap.ini');
    writeFileSync(file, '[kafka]\nsecurity.protocol = SASL_SSL\n');
    expect(() => loadSettings({ config: file })).toThrow(`${file}:2: [kafka] needs bootstrap.servers = host:port.`);
  });
});
