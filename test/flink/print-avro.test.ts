import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHIPPED_CONTRACTS_DIR } from '../../src/adapters/contracts/contracts.js';
import { printFlinkStatements } from '../../src/cli/commands/flink-print.js';
import { loadSettings } from '../../src/config/settings.js';
import { flinkStatements } from '../../src/flink/statements.js';

/**
 * What `pizza flink:print [--dialect D] --config FILE` prints (the command's own function:
 * the whole CLI would load the Kafka client's native module, which one unit worker may hold).
 */
async function flinkPrint(...args: string[]): Promise<string> {
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const chunks: string[] = [];
  await printFlinkStatements({
    settings: loadSettings({ config: option('--config') }),
    dialect: option('--dialect') === 'apache' ? 'apache' : 'confluent',
    write: (text) => chunks.push(text),
  });
  return chunks.join('');
}

/** The statements of a printed script, comments left out, whitespace collapsed. */
function statements(script: string): string[] {
  return script
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .map((line) => line.replace(/\s+-- [\w ]+$/, ''))
    .join('\n')
    .split(';\n')
    .map((statement) => statement.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
}

const STAGES = [
  'pizza-ordered',
  'pizza-pending',
  'pizza-assembled',
  'pizza-baked',
  'pizza-delivered',
  'pizza-cancelled',
];

describe('pizza flink:print with the contracts on (value_format = avro)', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-flink-avro-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const avroConfig = (extra: string[] = []): string => {
    const file = join(tempDir(), 'avro.ini');
    writeFileSync(
      file,
      [
        '[kafka]',
        'bootstrap.servers = broker:9092',
        '[pizza-shop]',
        'value_format = avro',
        ...extra,
        '[schema-registry]',
        'url = https://psrc-123.europe-west1.gcp.confluent.cloud',
        "basic.auth.user.info = SRKEY:sr'secret",
        '',
      ].join('\n'),
    );
    return file;
  };
  const contractText = (file: string): unknown =>
    JSON.parse(readFileSync(join(SHIPPED_CONTRACTS_DIR, file), 'utf8')) as unknown;

  it('reads each stage topic as avro-confluent through the registry, with the contract fields the job reads as typed columns', async () => {
    const printed = statements(await flinkPrint('--dialect', 'apache', '--config', avroConfig()));
    expect(printed).toHaveLength(9);
    printed.slice(0, 6).forEach((statement, index) => {
      expect(statement).toMatch(new RegExp(`^CREATE TABLE \`${STAGES[index]}\` \\(`));
      expect(statement).toContain("'connector' = 'kafka'");
      expect(statement).toContain("'key.format' = 'raw', 'key.fields' = 'key'");
      expect(statement).toContain("'value.format' = 'avro-confluent'");
      expect(statement).toContain("'value.avro-confluent.url' = 'https://psrc-123.europe-west1.gcp.confluent.cloud'");
      // Confluent's basic.auth.user.info, in Flink's option names; the quote doubled for SQL.
      expect(statement).toContain("'value.avro-confluent.basic-auth.credentials-source' = 'USER_INFO'");
      expect(statement).toContain("'value.avro-confluent.basic-auth.user-info' = 'SRKEY:sr''secret'");
      expect(statement).toContain("'value.fields-include' = 'EXCEPT_KEY'");
      // A reader: no subject, no schema of its own; the writer's schema comes by the id in each record.
      expect(statement).not.toContain('avro-confluent.subject');
      expect(statement).not.toContain('avro-confluent.schema');
    });
    expect(printed[0]).toContain('( `key` BYTES, status INT NOT NULL, `timestamp` BIGINT NOT NULL )');
    expect(printed[5]).toContain('( `key` BYTES, status INT NOT NULL, `timestamp` BIGINT NOT NULL, refused STRING )');
  });

  it('hands Flink the pizza-status contract and its subject, with columns of the same types and nullability', async () => {
    const table = statements(await flinkPrint('--dialect', 'apache', '--config', avroConfig()))[6] ?? '';
    expect(table).toMatch(
      /^CREATE TABLE `pizza-status` \( orderid STRING NOT NULL, status INT NOT NULL, `timestamp` BIGINT NOT NULL, PRIMARY KEY \(orderid\) NOT ENFORCED \)/,
    );
    expect(table).toContain("'connector' = 'upsert-kafka'");
    expect(table).toContain("'value.format' = 'avro-confluent'");
    expect(table).toContain("'value.avro-confluent.subject' = 'pizza-status-value'");
    const schema = /'value\.avro-confluent\.schema' = '((?:[^']|'')*)'/.exec(table)?.[1];
    expect(JSON.parse((schema ?? '').replaceAll("''", "'"))).toEqual(contractText('pizza-status.avsc'));
  });

  it('reads columns in the INSERT instead of JSON functions, in both dialects', async () => {
    for (const dialect of ['apache', 'confluent']) {
      const insert = statements(await flinkPrint('--dialect', dialect, '--config', avroConfig())).at(-1) ?? '';
      expect(insert).toMatch(/^INSERT INTO `pizza-status` SELECT orderid, status, `timestamp` FROM/);
      expect(insert).not.toContain('JSON_VALUE');
      expect(insert).toContain('SELECT CAST(`key` AS STRING) AS orderid, status, `timestamp` FROM `pizza-ordered`');
      expect(insert).toContain(
        'SELECT CAST(`key` AS STRING), status, `timestamp` FROM `pizza-cancelled` WHERE refused IS NULL',
      );
      for (const topic of STAGES) expect(insert).toContain(`FROM \`${topic}\``);
    }
  });

  it('prints the Confluent Cloud pizza-status table as avro-registry, with the contract’s columns and no registry secrets', async () => {
    const script = await flinkPrint('--config', avroConfig());
    const printed = statements(script);
    expect(printed).toHaveLength(3);
    expect(printed[0]).toBe(
      'CREATE TABLE `pizza-status` ( orderid STRING NOT NULL, status INT NOT NULL, `timestamp` BIGINT NOT NULL, PRIMARY KEY (orderid) NOT ENFORCED ) ' +
        "DISTRIBUTED BY HASH(orderid) INTO 1 BUCKETS WITH ( 'key.format' = 'raw', 'value.format' = 'avro-registry', 'value.fields-include' = 'all' )",
    );
    expect(printed[1]).toBe("SET 'sql.state-ttl' = '4 h'");
    // Confluent Cloud brings its own Schema Registry connection: nothing of [schema-registry] is printed.
    expect(script).not.toContain('psrc-123');
    expect(script).not.toContain('SRKEY');
  });

  it('types the columns from the contracts in contracts_dir: a union with null is a nullable column', async () => {
    const dir = tempDir();
    cpSync(SHIPPED_CONTRACTS_DIR, dir, { recursive: true });
    const baked = JSON.parse(readFileSync(join(dir, 'pizza-baked.avsc'), 'utf8')) as {
      fields: { name: string; type: unknown }[];
    };
    baked.fields = baked.fields.map((field) => (field.name === 'status' ? { ...field, type: ['null', 'int'] } : field));
    writeFileSync(join(dir, 'pizza-baked.avsc'), JSON.stringify(baked));
    const printed = statements(
      await flinkPrint('--dialect', 'apache', '--config', avroConfig([`contracts_dir = ${dir}`])),
    );
    expect(printed[3]).toContain('( `key` BYTES, status INT, `timestamp` BIGINT NOT NULL )');
  });

  it('refuses a contract field the job reads but Flink SQL gets no column type for, naming the file and the field', async () => {
    const dir = tempDir();
    cpSync(SHIPPED_CONTRACTS_DIR, dir, { recursive: true });
    const status = JSON.parse(readFileSync(join(dir, 'pizza-status.avsc'), 'utf8')) as {
      fields: { name: string; type: unknown }[];
    };
    status.fields = status.fields.map((field) =>
      field.name === 'timestamp' ? { ...field, type: { type: 'long', logicalType: 'timestamp-millis' } } : field,
    );
    writeFileSync(join(dir, 'pizza-status.avsc'), JSON.stringify(status));
    await expect(flinkPrint('--dialect', 'apache', '--config', avroConfig([`contracts_dir = ${dir}`]))).rejects.toThrow(
      /pizza-status\.avsc gives field "timestamp" the type .*timestamp-millis/,
    );
  });

  it('will not build the contracts-on statements without the contracts loaded', () => {
    const settings = loadSettings({ config: avroConfig() });
    expect(() => flinkStatements(settings, 'apache')).toThrow(
      /need the contracts; build them with loadFlinkStatements/,
    );
  });
});
