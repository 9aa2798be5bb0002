import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { loadSettings } from '../../src/config/settings.js';
import { shadedLoginModuleNote } from '../../src/flink/kafka-properties.js';
import { flinkStatements } from '../../src/flink/statements.js';

/** Runs `pizza flink:print ...` in process and returns what it printed on stdout. */
async function flinkPrint(...args: string[]): Promise<string> {
  const chunks: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'pizza', 'flink:print', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return chunks.join('');
}

/** The statements of a printed script, comments left out, in order. */
function statements(script: string): string[] {
  const code = script
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .map((line) => line.replace(/\s+-- [\w ]+$/, ''))
    .join('\n');
  return code
    .split(';\n')
    .map((statement) => statement.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
}

describe('pizza flink:print', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'pizza-flink-print-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const kafkaConfig = (): string => {
    const file = join(tempDir(), 'cloud.ini');
    writeFileSync(
      file,
      [
        '[kafka]',
        'bootstrap.servers = pkc-12345.europe-west1.gcp.confluent.cloud:9092',
        'security.protocol = SASL_SSL',
        'sasl.mechanisms = PLAIN',
        'sasl.username = APIKEY123',
        "sasl.password = se'cret",
        '',
      ].join('\n'),
    );
    return file;
  };

  it('prints the Confluent Cloud statements: create pizza-status, then an insert that reads pizza-pending and pizza-cancelled too', async () => {
    const printed = statements(await flinkPrint());
    expect(printed).toHaveLength(3);
    expect(printed[0]).toMatch(/^CREATE TABLE `pizza-status` \(/);
    expect(printed[0]).toContain("'key.format' = 'raw'");
    expect(printed[0]).toContain("'value.format' = 'json-registry'");
    expect(printed[1]).toBe("SET 'sql.state-ttl' = '4 h'");
    expect(printed[2]).toMatch(/^INSERT INTO `pizza-status`/);
    for (const topic of [
      'pizza-ordered',
      'pizza-pending',
      'pizza-assembled',
      'pizza-baked',
      'pizza-delivered',
      'pizza-cancelled',
    ]) {
      expect(printed[2]).toContain(`FROM \`${topic}\``);
    }
  });

  it('takes only cancellations from pizza-cancelled, not the refusals that share the topic', async () => {
    const insert = statements(await flinkPrint()).at(-1) ?? '';
    expect(insert).toContain("FROM `pizza-cancelled` WHERE JSON_VALUE(CAST(`val` AS STRING), '$.refused') IS NULL");
  });

  it('keeps the furthest lifecycle step per order, ranked from the status ids, earliest event first within a step', async () => {
    const insert = statements(await flinkPrint()).at(-1) ?? '';
    expect(insert).toContain(
      'CASE status WHEN 100 THEN 1 WHEN 200 THEN 2 WHEN 300 THEN 3 WHEN 150 THEN 4 WHEN 430 THEN 5 WHEN 499 THEN 6 WHEN 999 THEN 6 END AS lifecycle_rank',
    );
    expect(insert).toContain('WHERE lifecycle_rank IS NOT NULL');
    expect(insert).toContain('ROW_NUMBER() OVER (PARTITION BY orderid ORDER BY lifecycle_rank DESC, `timestamp` ASC)');
    expect(insert).toMatch(/^INSERT INTO `pizza-status` SELECT orderid, status, `timestamp` FROM/);
  });

  it('takes the ranks, the completed statuses and the state TTL from the settings', async () => {
    const system = join(tempDir(), 'system.ini');
    writeFileSync(
      system,
      [
        '[status-id]',
        'order_placed = 1',
        'pizza_assembled = 2',
        'pizza_baked = 3',
        'pending = 4',
        'something_wrong = 5',
        'cancelled = 6',
        'delivered = 7',
        '[state-store-orders]',
        'table_status_retention_hours = 0.5',
        'status_completed_when = delivered, something_wrong',
        '',
      ].join('\n'),
    );
    const printed = statements(await flinkPrint('--system-config', system));
    expect(printed[1]).toBe("SET 'sql.state-ttl' = '1800 s'");
    expect(printed[2]).toContain(
      'CASE status WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN 3 WHEN 4 THEN 4 WHEN 5 THEN 6 WHEN 6 THEN 6 WHEN 7 THEN 6 END',
    );
  });

  it('prints the Apache Flink statements with the connection and credentials from --config', async () => {
    const printed = statements(await flinkPrint('--dialect', 'apache', '--config', kafkaConfig()));
    expect(
      printed.map((statement) => /^(CREATE TABLE|INSERT INTO) `([^`]+)`/.exec(statement)?.slice(1, 3).join(' ')),
    ).toEqual([
      'CREATE TABLE pizza-ordered',
      'CREATE TABLE pizza-pending',
      'CREATE TABLE pizza-assembled',
      'CREATE TABLE pizza-baked',
      'CREATE TABLE pizza-delivered',
      'CREATE TABLE pizza-cancelled',
      'CREATE TABLE pizza-status',
      undefined, // the SET below
      'INSERT INTO pizza-status',
    ]);
    expect(printed[7]).toBe("SET 'table.exec.state.ttl' = '4 h'");
    for (const statement of printed.slice(0, 7)) {
      expect(statement).toContain("'properties.bootstrap.servers' = 'pkc-12345.europe-west1.gcp.confluent.cloud:9092'");
      expect(statement).toContain("'properties.security.protocol' = 'SASL_SSL'");
      expect(statement).toContain("'properties.sasl.mechanism' = 'PLAIN'");
      // The password's quote is doubled for SQL; the JAAS line is what the Java client reads.
      expect(statement).toContain(
        `'properties.sasl.jaas.config' = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="APIKEY123" password="se''cret";'`,
      );
    }
    expect(printed[1]).toContain("'topic' = 'pizza-pending'");
    expect(printed[5]).toContain("'topic' = 'pizza-cancelled'");
    expect(printed[6]).toContain("'connector' = 'upsert-kafka'");
    expect(printed[8]).toContain('FROM `pizza-pending`');
  });

  it('uses the topic names from the settings', async () => {
    const system = join(tempDir(), 'system.ini');
    writeFileSync(system, '[kafka-topics]\npizza_pending = shop1.pending\npizza_status = shop1.status\n');
    const printed = statements(await flinkPrint('--system-config', system));
    expect(printed[0]).toMatch(/^CREATE TABLE `shop1\.status`/);
    expect(printed[2]).toContain('FROM `shop1.pending`');
    expect(printed[2]).not.toContain('pizza-pending');
  });

  it('writes one numbered file per statement with --out', async () => {
    const out = join(tempDir(), 'sql');
    const script = await flinkPrint('--dialect', 'apache', '--config', kafkaConfig(), '--out', out);
    const files = readdirSync(out).sort();
    expect(files).toEqual([
      '01-create-pizza-ordered.sql',
      '02-create-pizza-pending.sql',
      '03-create-pizza-assembled.sql',
      '04-create-pizza-baked.sql',
      '05-create-pizza-delivered.sql',
      '06-create-pizza-cancelled.sql',
      '07-create-pizza-status.sql',
      '08-insert-pizza-status.sql',
    ]);
    const joined = files.map((file) => readFileSync(join(out, file), 'utf8')).join('\n');
    expect(joined).toBe(script);
  });

  it('prints the Apache statements without --config, with a marked placeholder for the brokers and a note on how to fill it', async () => {
    const script = await flinkPrint('--dialect', 'apache');
    const firstLines = script.split('\n').slice(0, 3).join('\n');
    expect(firstLines).toMatch(/^-- <BOOTSTRAP_SERVERS> is a placeholder/);
    expect(firstLines).toContain('--config FILE');
    expect(firstLines).toContain('[kafka] section');
    const printed = statements(script);
    expect(printed).toHaveLength(9);
    for (const statement of printed.slice(0, 7)) {
      expect(statement).toContain("'properties.bootstrap.servers' = '<BOOTSTRAP_SERVERS>'");
      expect(statement).not.toContain('sasl');
    }
    // The note comes once, at the top, not before every table.
    expect(script.match(/is a placeholder/g)).toHaveLength(1);
  });

  it('still refuses to build Apache statements to run when there is no Kafka connection', () => {
    expect(() => flinkStatements(loadSettings(), 'apache')).toThrow(
      /--dialect apache needs the Kafka connection: pass --config with a \[kafka\] section/,
    );
  });

  it("names the shaded login module of the SQL client's connector jar next to the JAAS line", async () => {
    const script = await flinkPrint('--dialect', 'apache', '--config', kafkaConfig());
    const lines = script.split('\n');
    const jaas = lines.findIndex((line) => line.includes("'properties.sasl.jaas.config'"));
    expect(lines[jaas]).toContain('org.apache.kafka.common.security.plain.PlainLoginModule required');
    expect(lines[jaas + 1]?.trim()).toBe(
      "-- with the SQL client's shaded connector jar (flink-sql-connector-kafka) the class is org.apache.flink.kafka.shaded.org.apache.kafka.common.security.plain.PlainLoginModule",
    );
    expect(script).not.toContain('<BOOTSTRAP_SERVERS>');
  });

  it('names the shaded SCRAM login module too, and says nothing for a JAAS line without a Kafka class', () => {
    expect(shadedLoginModuleNote('org.apache.kafka.common.security.scram.ScramLoginModule required;')).toContain(
      'org.apache.flink.kafka.shaded.org.apache.kafka.common.security.scram.ScramLoginModule',
    );
    expect(shadedLoginModuleNote('com.example.Login required;')).toBeUndefined();
  });
});
