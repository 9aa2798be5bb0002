import { readFileSync } from 'node:fs';
import { type Contract, loadContracts } from '../adapters/contracts/contracts.js';
import type { Settings, Topics } from '../config/settings.js';
import { lifecycleRank } from '../domain/status-view.js';
import { STATUS_NAMES, type StatusCatalog } from '../domain/statuses.js';
import { configError } from '../errors.js';
import { avroConfluentOptions, contractOf, contractsOn, flinkColumns } from './avro-tables.js';
import { javaClientProperties, shadedLoginModuleNote } from './kafka-properties.js';
import { sqlIdentifier, sqlString } from './sql-text.js';

export const FLINK_DIALECTS = ['confluent', 'apache'] as const;
export type FlinkDialect = (typeof FLINK_DIALECTS)[number];

/** Stands for the broker list in Apache statements printed without a [kafka] section. */
export const BOOTSTRAP_SERVERS_PLACEHOLDER = '<BOOTSTRAP_SERVERS>';

export interface FlinkStatementOptions {
  /**
   * Without a [kafka] section, write {@link BOOTSTRAP_SERVERS_PLACEHOLDER} for the
   * brokers (for a reader to fill in) instead of refusing. Off for programs that
   * run the statements, where a placeholder would only fail later inside Flink.
   */
  placeholderConnection?: boolean;
  /**
   * The contracts, loaded, when they are on (`[pizza-shop] value_format = avro`):
   * the tables then read and write framed Avro. {@link loadFlinkStatements} loads them.
   */
  contracts?: readonly Contract[];
}

export interface FlinkStatement {
  /** A short name, used for the file `--out` writes: `01-<name>.sql`. */
  name: string;
  /**
   * One statement, ending with a semicolon, comments included. The INSERT comes
   * with the SET that configures it, because a Confluent Cloud workspace runs a
   * SET only together with the statement it applies to.
   */
  sql: string;
}

/**
 * The stage topics that carry a status, in the order an order passes them, and
 * the cancel outcomes (of which only a cancellation is a status; the INSERT
 * drops the refusals).
 */
const STATUS_BEARING = [
  'ordered',
  'pending',
  'assembled',
  'baked',
  'delivered',
  'cancelled',
] as const satisfies readonly (keyof Topics)[];

// flink/ sits at the package root, two levels up from both src/flink and dist/flink.
const TEMPLATE_DIR = new URL('../../flink/', import.meta.url);

/**
 * The statements that build `pizza-status`, rendered from the settings, in the
 * order they must run: tables first, the INSERT last.
 *
 * - `confluent`: what a user pastes into a Confluent Cloud SQL workspace, where
 *   every topic is already a table; only `pizza-status` is created.
 * - `apache`: a Kafka table per stage topic, `pizza-status` through upsert-kafka,
 *   with the broker address and security settings taken from the [kafka] section.
 *
 * With the contracts on, the values are framed Avro (`avro-confluent` on Apache
 * Flink, `avro-registry` on Confluent Cloud), the columns typed from the contracts
 * in `options.contracts`; with them off, plain JSON as the workshop writes it.
 */
export function flinkStatements(
  settings: Settings,
  dialect: FlinkDialect,
  options: FlinkStatementOptions = {},
): FlinkStatement[] {
  const { topics } = settings;
  const contracts = contractsOn(settings) ? loadedContracts(options.contracts) : undefined;
  const stateTtl = renderTemplate(readTemplate(`${dialect}/state-ttl.sql`), {
    ttl: flinkStateTtl(settings),
    retention: `${settings.orders.statusRetentionHours} h`,
  });
  const insertInto = renderTemplate(readTemplate('insert-pizza-status.sql'), {
    status: topics.status,
    lifecycleRank: lifecycleRankSql(settings.statuses),
    ...Object.fromEntries(STATUS_BEARING.map((stage) => [stage, topics[stage]])),
    ...sourceColumns(contracts ? CONTRACT_SOURCE : JSON_SOURCE),
  });
  const insert: FlinkStatement = { name: `insert-${topics.status}`, sql: `${stateTtl}\n\n${insertInto}` };
  const statusContract = contracts ? contractOf(contracts, 'status') : undefined;
  const statusColumns = statusContract ? flinkColumns(statusContract).join(',\n  ') : undefined;

  if (dialect === 'confluent') {
    const statusTable = statusColumns
      ? renderTemplate(readTemplate('confluent/pizza-status-table-avro.sql'), {
          status: topics.status,
          partitions: String(settings.topicConfig.numPartitions),
          columns: statusColumns,
        })
      : renderTemplate(readTemplate('confluent/pizza-status-table.sql'), {
          status: topics.status,
          partitions: String(settings.topicConfig.numPartitions),
        });
    return [{ name: `create-${topics.status}`, sql: statusTable }, insert];
  }

  const placeholder = !settings.kafka && options.placeholderConnection === true;
  const connection = placeholder ? placeholderConnection() : apacheConnection(settings);
  const stageTable = (stage: (typeof STATUS_BEARING)[number]): string => {
    const names = { table: topics[stage], topic: topics[stage], connection };
    if (!contracts) return renderTemplate(readTemplate('apache/stage-table.sql'), names);
    return renderTemplate(readTemplate('apache/stage-table-avro.sql'), {
      ...names,
      columns: flinkColumns(contractOf(contracts, stage), stageFields(stage)).join(',\n  '),
      registry: avroConfluentOptions(settings),
    });
  };
  const statusTable =
    statusContract && statusColumns
      ? renderTemplate(readTemplate('apache/pizza-status-table-avro.sql'), {
          status: topics.status,
          topic: topics.status,
          connection,
          columns: statusColumns,
          registry: avroConfluentOptions(settings, { writeContract: statusContract }),
        })
      : renderTemplate(readTemplate('apache/pizza-status-table.sql'), {
          status: topics.status,
          topic: topics.status,
          connection,
        });
  return [
    ...STATUS_BEARING.map((stage, index) => {
      const sql = stageTable(stage);
      return {
        name: `create-${topics[stage]}`,
        sql: index === 0 && placeholder ? `${PLACEHOLDER_NOTE}\n\n${sql}` : sql,
      };
    }),
    { name: `create-${topics.status}`, sql: statusTable },
    insert,
  ];
}

/**
 * {@link flinkStatements}, with the contracts loaded first when they are on
 * (from `[pizza-shop] contracts_dir`, or the ones pizza ships).
 */
export async function loadFlinkStatements(
  settings: Settings,
  dialect: FlinkDialect,
  options: Omit<FlinkStatementOptions, 'contracts'> = {},
): Promise<FlinkStatement[]> {
  const contracts = contractsOn(settings)
    ? await loadContracts(settings.topics, settings.shop.contracts.dir)
    : undefined;
  return flinkStatements(settings, dialect, { ...options, ...(contracts ? { contracts } : {}) });
}

/** The contract fields a stage table declares: those the INSERT reads. */
function stageFields(stage: (typeof STATUS_BEARING)[number]): string[] {
  return stage === 'cancelled' ? ['status', 'timestamp', 'refused'] : ['status', 'timestamp'];
}

function loadedContracts(contracts: readonly Contract[] | undefined): readonly Contract[] {
  if (!contracts) {
    throw new Error(
      '[pizza-shop] value_format = avro: the Flink statements need the contracts; build them with loadFlinkStatements',
    );
  }
  return contracts;
}

/**
 * How long Flink keeps an idle order's Top-N state: the orders view's status
 * retention, so Flink forgets an order when the view does. A Flink duration
 * takes whole units, so a fractional number of hours is given in seconds.
 */
export function flinkStateTtl(settings: Settings): string {
  const hours = settings.orders.statusRetentionHours;
  return Number.isInteger(hours) ? `${hours} h` : `${Math.ceil(hours * 3_600)} s`;
}

/**
 * `CASE status WHEN <id> THEN <rank> ... END`: each status id's step in the
 * order's lifecycle, from the same `lifecycleRank` the status view applies, so
 * both agree on which event wins. Statuses with no step are left out (NULL).
 */
export function lifecycleRankSql(catalog: StatusCatalog): string {
  const ranks = new Map<number, { rank: number; name: string }>();
  for (const name of STATUS_NAMES) {
    const id = catalog.ids[name];
    const rank = lifecycleRank(catalog, id);
    if (rank !== undefined && !ranks.has(id)) ranks.set(id, { rank, name });
  }
  const whens = [...ranks]
    .sort(([idA, a], [idB, b]) => a.rank - b.rank || idA - idB)
    .map(([id, { rank, name }]) => `WHEN ${id} THEN ${rank} -- ${name}`);
  return ['CASE status', ...whens.map((when) => `  ${when}`), 'END'].join('\n      ');
}

/** The statements as one script: each ends with `;`, separated by a blank line. */
export function flinkScript(statements: readonly FlinkStatement[]): string {
  return `${statements.map((statement) => statement.sql).join('\n\n')}\n`;
}

// At the top of the script, so nobody runs it without seeing what is missing.
const PLACEHOLDER_NOTE = [
  `-- ${BOOTSTRAP_SERVERS_PLACEHOLDER} is a placeholder: these statements were printed without a Kafka connection.`,
  '-- Print them again with --config FILE, a file whose [kafka] section holds bootstrap.servers (and, for a',
  `-- secured cluster, its SASL settings), or replace each ${BOOTSTRAP_SERVERS_PLACEHOLDER} with your brokers' host:port list.`,
].join('\n');

function placeholderConnection(): string {
  return `${sqlString('properties.bootstrap.servers')} = ${sqlString(BOOTSTRAP_SERVERS_PLACEHOLDER)},`;
}

/** The `'properties.*'` lines of a Kafka table, each with its trailing comma. */
function apacheConnection(settings: Settings): string {
  if (!settings.kafka) {
    throw configError(
      'flink:print --dialect apache needs the Kafka connection: pass --config with a [kafka] section (bootstrap.servers and, for a secured cluster, its SASL settings).',
    );
  }
  const { properties, skipped } = javaClientProperties(settings.kafka);
  const lines = Object.entries(properties).flatMap(([key, value]) => {
    const line = `${sqlString(`properties.${key}`)} = ${sqlString(value)},`;
    const note = key === 'sasl.jaas.config' ? shadedLoginModuleNote(value) : undefined;
    return note ? [line, `-- ${note}`] : [line];
  });
  if (skipped.length > 0) {
    lines.push(`-- not carried over from [kafka] (librdkafka-only or not needed here): ${skipped.join(', ')}`);
  }
  return lines.join('\n  ');
}

/**
 * How the INSERT reads a stage record's status, timestamp and refusal. Plain JSON: the
 * columns Confluent Cloud infers for a topic without a schema (`key` and `val` as bytes),
 * read with JSON_VALUE and TRY_CAST, which yield NULL for a value they cannot read, so such
 * rows are dropped instead of failing the job. With the contracts: the contracts' own
 * fields. The Apache Flink tables declare the same columns as Confluent Cloud in both cases,
 * so the statement is the same text in both dialects.
 */
const JSON_SOURCE = {
  sourceNote: [
    '-- The source columns are those Confluent Cloud infers for a topic without a schema',
    '-- (`key` and `val` as bytes); the Apache Flink tables declare the same, so this',
    '-- statement is the same text in both dialects. JSON_VALUE and TRY_CAST yield NULL',
    '-- for a value they cannot read, and such rows are dropped instead of failing the job.',
  ].join('\n'),
  statusColumn: "TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.status') AS INT)",
  timestampColumn: "TRY_CAST(JSON_VALUE(CAST(`val` AS STRING), '$.timestamp') AS BIGINT)",
  refusedColumn: "JSON_VALUE(CAST(`val` AS STRING), '$.refused')",
  refusalExample: '{"refused": "too-late", ...}',
};
const CONTRACT_SOURCE = {
  sourceNote: [
    '-- With the contracts on, the stage values are framed Avro: the source columns are',
    "-- those Confluent Cloud infers from each topic's contract (`key` as bytes, since keys",
    "-- have no schema, and the contract's fields), and the Apache Flink tables declare the",
    '-- same, so this statement is the same text in both dialects. The contracts make',
    '-- status and timestamp required, so no row lacks them.',
  ].join('\n'),
  statusColumn: 'status',
  timestampColumn: '`timestamp`',
  refusedColumn: 'refused',
  refusalExample: "refused = 'too-late'",
};

/** The source's expressions, and the first SELECT's, which names its columns (`x AS status`, or `status` alone). */
function sourceColumns(source: typeof JSON_SOURCE): Record<string, string> {
  const named = (expression: string, name: string) => (expression === name ? name : `${expression} AS ${name}`);
  return {
    ...source,
    statusColumnAs: named(source.statusColumn, 'status'),
    timestampColumnAs: named(source.timestampColumn, '`timestamp`'),
  };
}

function readTemplate(name: string): string {
  return readFileSync(new URL(name, TEMPLATE_DIR), 'utf8');
}

/**
 * Fills `{{ident:NAME}}` (a backquoted identifier), `{{string:NAME}}` (a quoted
 * SQL literal) and `{{raw:NAME}}` (text as it is) and ends the statement with a
 * semicolon. Names are escaped here, so a topic name cannot break the SQL.
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const rendered = template.replace(/\{\{(ident|string|raw):([\w-]+)\}\}/g, (_match, kind: string, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`Flink SQL template uses {{${kind}:${name}}}, which has no value`);
    if (kind === 'ident') return sqlIdentifier(value);
    if (kind === 'string') return sqlString(value);
    return value;
  });
  const leftover = /\{\{[^}]*\}\}/.exec(rendered);
  if (leftover) throw new Error(`Flink SQL template has an unknown placeholder ${leftover[0]}`);
  return `${rendered.trimEnd()};`;
}
