import type { Contract } from '../adapters/contracts/contracts.js';
import type { Settings } from '../config/settings.js';
import { configError } from '../errors.js';
import { sqlIdentifier, sqlString } from './sql-text.js';

/**
 * What the status job's tables need from the contracts when they are on
 * (`[pizza-shop] value_format = avro`): Flink SQL column types for the
 * contract fields, and the `avro-confluent` options of open-source Flink.
 */

/** Avro primitive types and the Flink SQL type Flink's own Avro converter maps each to. */
const FLINK_TYPES: Record<string, string> = {
  string: 'STRING',
  int: 'INT',
  long: 'BIGINT',
  double: 'DOUBLE',
  float: 'FLOAT',
  boolean: 'BOOLEAN',
  bytes: 'BYTES',
};

/** Contracts are on: roles frame the workshop topics as Avro under the contracts, so Flink must too. */
export function contractsOn(settings: Settings): boolean {
  return settings.shop.contracts.valueFormat === 'avro';
}

/** The contract of a topic key, or a clear failure naming what is missing. */
export function contractOf(contracts: readonly Contract[], topicKey: Contract['topicKey']): Contract {
  const contract = contracts.find((candidate) => candidate.topicKey === topicKey);
  if (!contract) throw new Error(`no contract was loaded for the ${topicKey} topic`);
  return contract;
}

/**
 * `name TYPE [NOT NULL]` for each named field of a contract, in the contract's
 * order. A field is NOT NULL unless the contract makes it a union with null,
 * exactly as Flink's Avro converter reads the contract: a table that differs in
 * nullability derives a different schema, and Flink refuses an
 * `avro-confluent.schema` that does not match its table.
 */
export function flinkColumns(contract: Contract, names?: readonly string[]): string[] {
  const fields = names
    ? names.map((name) => {
        const field = contract.schema.fields.find((candidate) => candidate.name === name);
        if (!field) {
          throw configError(
            `the contract ${contract.file} has no field "${name}", which the Flink status job reads from ${contract.topic}`,
          );
        }
        return field;
      })
    : contract.schema.fields;
  return fields.map((field) => `${sqlColumnName(field.name)} ${flinkType(contract, field.name, field.type)}`);
}

function flinkType(contract: Contract, field: string, type: unknown): string {
  const members = Array.isArray(type) ? type : [type];
  const nonNull = members.filter((member) => member !== 'null');
  const nullable = nonNull.length < members.length;
  const only = nonNull.length === 1 ? nonNull[0] : undefined;
  const name =
    typeof only === 'object' && only !== null && !('logicalType' in only) ? (only as { type?: unknown }).type : only;
  const sqlType = typeof name === 'string' ? FLINK_TYPES[name] : undefined;
  if (!sqlType) {
    throw configError(
      `the contract ${contract.file} gives field "${field}" the type ${JSON.stringify(type)}, which the Flink status job does not map to a column: use an Avro primitive, or a union of null and one`,
    );
  }
  return nullable ? sqlType : `${sqlType} NOT NULL`;
}

// Plain where it can be, as the JSON tables write them; `timestamp` is a reserved word in Flink SQL.
function sqlColumnName(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && name !== 'timestamp' ? name : sqlIdentifier(name);
}

export interface AvroConfluentOptions {
  /** The subject and schema to write under: only the sink table gets them. */
  writeContract?: Contract;
}

/**
 * The `'value.format' = 'avro-confluent'` lines of a Kafka table (each with its
 * trailing comma) from the [schema-registry] section: the url, and Confluent's
 * `basic.auth.user.info` as Flink's basic-auth options. A sink also gets its
 * contract's subject and the contract itself, so Flink registers (or finds) the
 * contract rather than a schema of its own derived from the table.
 */
export function avroConfluentOptions(settings: Settings, options: AvroConfluentOptions = {}): string {
  const section = settings.schemaRegistry ?? {};
  const url = section.url?.trim();
  if (!url) {
    throw configError(
      '[pizza-shop] value_format = avro needs a Schema Registry for Flink: add [schema-registry] with url = https://<your Schema Registry endpoint>',
    );
  }
  const option = (key: string, value: string) => `${sqlString(`value.${key}`)} = ${sqlString(value)},`;
  const lines = [option('format', 'avro-confluent'), option('avro-confluent.url', url)];
  const userInfo = section['basic.auth.user.info'];
  if (userInfo) {
    lines.push(option('avro-confluent.basic-auth.credentials-source', 'USER_INFO'));
    lines.push(option('avro-confluent.basic-auth.user-info', userInfo));
  }
  const skipped = Object.keys(section).filter((key) => key !== 'url' && key !== 'basic.auth.user.info');
  if (skipped.length > 0) lines.push(`-- not carried over from [schema-registry]: ${skipped.join(', ')}`);
  if (options.writeContract) {
    lines.push(option('avro-confluent.subject', options.writeContract.subject));
    lines.push(option('avro-confluent.schema', options.writeContract.text));
  }
  return lines.join('\n  ');
}
