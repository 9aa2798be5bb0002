import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { Menu } from '../domain/menu.js';
import { isStatusName, STATUS_NAMES, type StatusCatalog, type StatusName } from '../domain/statuses.js';
import { configError } from '../errors.js';
import { WORKSHOP_DEFAULTS } from './defaults.js';
import { type KnownSettings, readEnvironment, type SettingsEnvironment } from './environment.js';
import { type IniDocument, IniSyntaxError, iniList, parseIni } from './ini.js';

export type StatusSource = 'topics' | 'pizza-status';

export interface Topics {
  ordered: string;
  assembled: string;
  baked: string;
  delivered: string;
  pending: string;
  status: string;
  /** Where records that can never be worked on go, with headers that say why. */
  deadLetter: string;
  /** The roles' log lines about each order, keyed by order id, for the web app on any host. */
  logs: string;
  /** Each role's work in flight and capacity, reported every few seconds, for the lineage view. */
  roleStats: string;
  /** Logged-out sessions, keyed by session id (compacted): every web host refuses their cookies. */
  sessions: string;
  /** A customer's request to cancel an order, keyed by order id: `{timestamp, customer_id}`. */
  cancelRequested: string;
  /** How a cancel request ended, keyed by order id: cancelled (499) or refused as too late. */
  cancelled: string;
}

export type RoleName = 'serve' | 'assemble' | 'bake' | 'deliver' | 'status';
export type StageRole = Exclude<RoleName, 'serve'>;

export interface Settings {
  /** librdkafka properties from the [kafka] section; undefined means the embedded bus. */
  kafka: Record<string, string> | undefined;
  /** The [schema-registry] section (url, basic.auth.user.info), if any. */
  schemaRegistry: Record<string, string> | undefined;
  topics: Topics;
  topicConfig: {
    numPartitions: number;
    replicationFactor: number;
    /** True when no file, variable or flag set replication_factor: topic creation may then fit it to the cluster. */
    replicationFactorIsDefault: boolean;
  };
  groupIds: Record<StageRole, string>;
  clientIds: Record<RoleName, string>;
  statuses: StatusCatalog;
  menu: Menu;
  orders: {
    fileName: string;
    ordersRetentionHours: number;
    statusRetentionHours: number;
    watchdogIntervalMinutes: number;
    stuckAfterMinutes: number;
  };
  delivery: { fileName: string; retentionHours: number };
  shop: {
    timeScale: number;
    capacity: Record<StageRole, number>;
    dataDir: string;
    logDir: string;
    host: string;
    port: number;
    statusSource: StatusSource;
    /** A consumer that stops heartbeating loses its partitions after this long (crash failover). */
    sessionTimeoutMs: number;
    heartbeatIntervalMs: number;
    /** Hex characters in a new order id: the workshop's 8, or more where many web hosts take orders. */
    orderIdLength: number;
    /** Behind a TLS proxy: trust its X-Forwarded-* headers, so cookies are Secure and addresses are the client's. */
    trustProxy: boolean;
    logTopicRetentionHours: number;
    /** Metrics, probes and dead letters for operators: never on the customers' address. 0 picks a free port. */
    operatorHost: string;
    operatorPort: number;
    /** at-least-once (the default) or exactly-once: Kafka transactions around each role's work. */
    processing: 'at-least-once' | 'exactly-once';
    /** Each role's log file rolls over at this size (`10m`, `500k`, `1g`), keeping this many old files. */
    logFileMaxSize: string;
    logFilesKept: number;
    /** OTLP/HTTP endpoint for traces (e.g. http://127.0.0.1:4318/v1/traces); unset, tracing is off. */
    otlpEndpoint: string | undefined;
    /** Names this host in per-host consumer groups; generated into the data dir when not set. */
    hostId: string | undefined;
    /** Signs session cookies; generated into the data dir when not set. */
    sessionSecret: string | undefined;
    /** The lineage page's demo-load form; `auto` is on for the embedded bus only. */
    loadButton: boolean;
    /** Open live streams (server-sent events) allowed per customer session, per client address, and on this host. */
    streamsPerSession: number;
    streamsPerAddress: number;
    streamsTotal: number;
    /** A session cookie is refused this long after login. */
    sessionHours: number;
    /** Logins allowed per client address and minute, on each web host. */
    loginRatePerMinute: number;
  };
  /** The files the settings were read from, for messages. */
  files: string[];
}

/** Options a user can also give as flags; flags win over every file. */
export interface SettingsFlags {
  config?: string | undefined;
  systemConfig?: string | undefined;
  timeScale?: string | undefined;
  capacity?: string | undefined;
  dataDir?: string | undefined;
  logDir?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  statusSource?: string | undefined;
  operatorPort?: string | undefined;
}

const FLAG_KEYS: Record<keyof Omit<SettingsFlags, 'config' | 'systemConfig'>, string> = {
  timeScale: 'time_scale',
  capacity: 'capacity',
  dataDir: 'data_dir',
  logDir: 'log_dir',
  host: 'host',
  port: 'port',
  statusSource: 'status_source',
  operatorPort: 'operator_port',
};

/** Where a setting's value came from; `source` is how messages name it. */
export interface Origin {
  kind: 'built-in' | 'file' | 'env' | 'flag';
  source: string;
  line?: number;
}
export interface SettingValue {
  value: string;
  origin: Origin;
}
/** Every setting by section and key, each with the value that won and where it came from. */
export type SettingLayers = Map<string, Map<string, SettingValue>>;
type Layered = SettingLayers;
type Value = SettingValue;

/** Where settings come from besides flags: files resolve against `cwd`, `PIZZA__*` variables come from `env`. */
export interface SettingsSources {
  cwd?: string;
  /** The CLI passes `process.env`; nothing else in pizza reads it. */
  env?: SettingsEnvironment;
}

const positive = z.coerce.number().positive();
const count = z.coerce.number().int().min(1);
const name = z.string().trim().min(1);

/** How a setting's location in the files maps to a field, with the hint a user needs. */
const FIELDS = {
  'topics.ordered': ['kafka-topics', 'pizza_ordered', name, 'a topic name'],
  'topics.assembled': ['kafka-topics', 'pizza_assembled', name, 'a topic name'],
  'topics.baked': ['kafka-topics', 'pizza_baked', name, 'a topic name'],
  'topics.delivered': ['kafka-topics', 'pizza_delivered', name, 'a topic name'],
  'topics.pending': ['kafka-topics', 'pizza_pending', name, 'a topic name'],
  'topics.status': ['kafka-topics', 'pizza_status', name, 'a topic name'],
  'topics.deadLetter': ['kafka-topics', 'pizza_dead_letter', name, 'a topic name'],
  'topics.logs': ['kafka-topics', 'pizza_logs', name, 'a topic name'],
  'topics.roleStats': ['kafka-topics', 'pizza_role_stats', name, 'a topic name'],
  'topics.sessions': ['kafka-topics', 'pizza_sessions', name, 'a topic name'],
  'topics.cancelRequested': ['kafka-topics', 'pizza_cancel_requested', name, 'a topic name'],
  'topics.cancelled': ['kafka-topics', 'pizza_cancelled', name, 'a topic name'],
  'topicConfig.numPartitions': ['kafka-topic-config', 'num_partitions', count, 'a whole number, 1 or more'],
  'topicConfig.replicationFactor': ['kafka-topic-config', 'replication_factor', count, 'a whole number, 1 or more'],
  'groupIds.status': ['kafka-consumer-group-id', 'microservice_status', name, 'a consumer group id'],
  'groupIds.assemble': ['kafka-consumer-group-id', 'microservice_assembled', name, 'a consumer group id'],
  'groupIds.bake': ['kafka-consumer-group-id', 'microservice_baked', name, 'a consumer group id'],
  'groupIds.deliver': ['kafka-consumer-group-id', 'microservice_delivery', name, 'a consumer group id'],
  'clientIds.serve': ['kafka-client-id', 'webapp', name, 'a client id'],
  'clientIds.status': ['kafka-client-id', 'microservice_status', name, 'a client id'],
  'clientIds.assemble': ['kafka-client-id', 'microservice_assembled', name, 'a client id'],
  'clientIds.bake': ['kafka-client-id', 'microservice_baked', name, 'a client id'],
  'clientIds.deliver': ['kafka-client-id', 'microservice_delivery', name, 'a client id'],
  'orders.fileName': ['state-store-orders', 'name', name, 'a file name such as orders.db'],
  'orders.ordersRetentionHours': ['state-store-orders', 'table_orders_retention_hours', positive, 'a number of hours'],
  'orders.statusRetentionHours': ['state-store-orders', 'table_status_retention_hours', positive, 'a number of hours'],
  'orders.watchdogIntervalMinutes': ['state-store-orders', 'status_watchdog_minutes', positive, 'a number of minutes'],
  'orders.stuckAfterMinutes': ['state-store-orders', 'status_invalid_timeout_minutes', positive, 'a number of minutes'],
  'delivery.fileName': ['state-store-delivery', 'name', name, 'a file name such as delivery.db'],
  'delivery.retentionHours': ['state-store-delivery', 'table_customers_retention_hours', positive, 'a number of hours'],
  'shop.timeScale': [
    'pizza-shop',
    'time_scale',
    z.coerce.number().min(0).max(1000),
    'a number from 0 (instant) to 1000; 1 is real time',
  ],
  'shop.capacity.assemble': ['pizza-shop', 'assemble_capacity', count, 'a whole number, 1 or more'],
  'shop.capacity.bake': ['pizza-shop', 'bake_capacity', count, 'a whole number, 1 or more'],
  'shop.capacity.deliver': ['pizza-shop', 'deliver_capacity', count, 'a whole number, 1 or more'],
  'shop.capacity.status': ['pizza-shop', 'status_capacity', count, 'a whole number, 1 or more'],
  'shop.dataDir': ['pizza-shop', 'data_dir', name, 'a directory path'],
  'shop.logDir': ['pizza-shop', 'log_dir', name, 'a directory path'],
  'shop.host': ['pizza-shop', 'host', name, 'a host name or IP address'],
  'shop.port': ['pizza-shop', 'port', z.coerce.number().int().min(0).max(65535), 'a TCP port from 0 to 65535'],
  'shop.statusSource': [
    'pizza-shop',
    'status_source',
    z.enum(['auto', 'topics', 'pizza-status']),
    'one of auto, topics, pizza-status',
  ],
  'shop.orderIdLength': [
    'pizza-shop',
    'order_id_length',
    z.coerce.number().int().min(8).max(32),
    'a whole number of hex characters from 8 (the workshop) to 32',
  ],
  'shop.trustProxy': [
    'pizza-shop',
    'trust_proxy',
    z.enum(['true', 'false']).transform((v) => v === 'true'),
    'true or false',
  ],
  'shop.logTopicRetentionHours': ['pizza-shop', 'log_topic_retention_hours', positive, 'a number of hours'],
  'shop.processing': [
    'pizza-shop',
    'processing',
    z.enum(['at-least-once', 'exactly-once']),
    'at-least-once or exactly-once',
  ],
  'shop.logFileMaxSize': [
    'pizza-shop',
    'log_file_max_size',
    z.string().regex(/^\d+(\.\d+)?[kmg]?$/i),
    'a size such as 500k, 10m or 1g',
  ],
  'shop.logFilesKept': [
    'pizza-shop',
    'log_files_kept',
    z.coerce.number().int().min(1).max(1000),
    'a whole number, 1 or more',
  ],
  'shop.operatorHost': ['pizza-shop', 'operator_host', name, 'a host name or IP address (127.0.0.1 keeps it local)'],
  'shop.operatorPort': [
    'pizza-shop',
    'operator_port',
    z.coerce.number().int().min(0).max(65535),
    'a TCP port from 0 (any free port) to 65535',
  ],
  'shop.sessionTimeoutMs': [
    'pizza-shop',
    'session_timeout_ms',
    z.coerce.number().int().min(1000).max(3_600_000),
    "milliseconds, at least the broker's group.min.session.timeout.ms (6000 by default)",
  ],
  'shop.loadButton': ['pizza-shop', 'load_button', z.enum(['auto', 'true', 'false']), 'auto, true or false'],
  'shop.streamsPerSession': ['pizza-shop', 'streams_per_session', count, 'a whole number, 1 or more'],
  'shop.streamsPerAddress': ['pizza-shop', 'streams_per_address', count, 'a whole number, 1 or more'],
  'shop.streamsTotal': ['pizza-shop', 'streams_total', count, 'a whole number, 1 or more'],
  'shop.sessionHours': [
    'pizza-shop',
    'session_hours',
    z.coerce
      .number()
      .positive()
      .max(24 * 365),
    'a number of hours, such as 12',
  ],
  'shop.loginRatePerMinute': ['pizza-shop', 'login_rate_per_minute', count, 'a whole number of logins, 1 or more'],
  'shop.heartbeatIntervalMs': [
    'pizza-shop',
    'heartbeat_interval_ms',
    z.coerce.number().int().min(100).max(3_600_000),
    'milliseconds, well below session_timeout_ms (a third or less)',
  ],
} as const satisfies Record<string, readonly [string, string, z.ZodType, string]>;

const MENU_KEYS = {
  sauce: 'sauce',
  cheese: 'cheese',
  mainTopping: 'main_topping',
  extraToppings: 'extra_toppings',
} as const;
const PLACEHOLDER = /\{\{.*?\}\}/;

export function loadSettings(flags: SettingsFlags = {}, sources: SettingsSources = {}): Settings {
  const cwd = sources.cwd ?? process.cwd();
  const { layered, files } = readLayers(flags, cwd, sources.env ?? {});

  const parsed: Record<string, unknown> = {};
  for (const [path, [section, key, schema, hint]] of Object.entries(FIELDS)) {
    const entry = layered.get(section)?.get(key);
    if (!entry) throw configError(`Missing setting [${section}] ${key}: set it to ${hint}.`);
    const result = (schema as z.ZodType).safeParse(entry.value);
    if (!result.success) {
      throw configError(`${where(entry.origin)}: [${section}] ${key} = "${entry.value}" is not valid: use ${hint}.`);
    }
    setPath(parsed, path, result.data);
  }
  const shaped = parsed as unknown as Omit<
    Settings,
    'kafka' | 'schemaRegistry' | 'statuses' | 'menu' | 'files' | 'shop' | 'topicConfig'
  > & {
    topicConfig: Omit<Settings['topicConfig'], 'replicationFactorIsDefault'>;
    shop: Omit<Settings['shop'], 'statusSource' | 'sessionSecret' | 'hostId' | 'loadButton'> & {
      statusSource: StatusSource | 'auto';
      loadButton: 'auto' | 'true' | 'false';
    };
  };

  const kafka = sectionRecord(layered, 'kafka');
  if (flags.config !== undefined && !kafka) {
    throw configError(
      `${flags.config}: has no [kafka] section. Add one with at least "bootstrap.servers = host:port", or drop --config to run on the embedded bus.`,
    );
  }
  if (kafka && !kafka['bootstrap.servers']) {
    throw configError(
      `${where(layered.get('kafka')?.values().next().value?.origin)}: [kafka] needs bootstrap.servers = host:port.`,
    );
  }
  if (shaped.shop.heartbeatIntervalMs * 3 > shaped.shop.sessionTimeoutMs) {
    const heartbeat = layered.get('pizza-shop')?.get('heartbeat_interval_ms');
    throw configError(
      `${where(heartbeat?.origin)}: [pizza-shop] heartbeat_interval_ms = ${shaped.shop.heartbeatIntervalMs} is too close to session_timeout_ms = ${shaped.shop.sessionTimeoutMs}: a member would be thrown out of its group after one late heartbeat. Use a third of the session timeout or less.`,
    );
  }
  const statusSource =
    shaped.shop.statusSource === 'auto' ? (kafka ? 'pizza-status' : 'topics') : shaped.shop.statusSource;
  const sessionSecret = layered.get('pizza-shop')?.get('session_secret')?.value;
  const hostId = layered.get('pizza-shop')?.get('host_id')?.value;
  const otlpEndpoint = layered.get('pizza-shop')?.get('otlp_endpoint')?.value;
  if (otlpEndpoint && !/^https?:\/\/\S+$/.test(otlpEndpoint)) {
    throw configError(
      `${where(layered.get('pizza-shop')?.get('otlp_endpoint')?.origin)}: [pizza-shop] otlp_endpoint = "${otlpEndpoint}" is not valid: use an http(s) URL such as http://127.0.0.1:4318/v1/traces, or leave it empty to turn tracing off.`,
    );
  }
  if (hostId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(hostId)) {
    throw configError(
      `${where(layered.get('pizza-shop')?.get('host_id')?.origin)}: [pizza-shop] host_id = "${hostId}" is not valid: use 1 to 64 letters, digits, - or _.`,
    );
  }

  return {
    ...shaped,
    kafka,
    schemaRegistry: sectionRecord(layered, 'schema-registry'),
    topicConfig: {
      ...shaped.topicConfig,
      replicationFactorIsDefault:
        layered.get('kafka-topic-config')?.get('replication_factor')?.origin.source === 'built-in defaults',
    },
    statuses: readStatuses(layered),
    menu: readMenu(layered),
    shop: {
      ...shaped.shop,
      dataDir: resolve(cwd, shaped.shop.dataDir),
      logDir: resolve(cwd, shaped.shop.logDir),
      statusSource,
      sessionSecret: sessionSecret || undefined,
      hostId: hostId || undefined,
      loadButton: shaped.shop.loadButton === 'auto' ? !kafka : shaped.shop.loadButton === 'true',
    },
    files,
  };
}

/**
 * Every setting with the value that wins and its origin. Precedence, highest
 * first: flags, `PIZZA__*` environment variables, --config, --system-config,
 * the built-in defaults. Values are not checked here; `loadSettings` does that.
 */
export function loadSettingLayers(flags: SettingsFlags = {}, sources: SettingsSources = {}): SettingLayers {
  return readLayers(flags, sources.cwd ?? process.cwd(), sources.env ?? {}).layered;
}

function readLayers(
  flags: SettingsFlags,
  cwd: string,
  env: SettingsEnvironment,
): { layered: Layered; files: string[] } {
  const layered: Layered = new Map();
  const files: string[] = [];
  const defaults = readDocument(WORKSHOP_DEFAULTS, 'built-in defaults');
  merge(layered, defaults, { kind: 'built-in', source: 'built-in defaults' });
  for (const file of [flags.systemConfig, flags.config]) {
    if (file === undefined) continue;
    const path = resolve(cwd, file);
    merge(layered, readDocument(readConfigFile(path), path), { kind: 'file', source: path });
    files.push(path);
  }
  for (const { section, key, value, variable } of readEnvironment(env, knownSettings(defaults))) {
    set(layered, section, key, { value, origin: { kind: 'env', source: `environment variable ${variable}` } });
  }
  applyFlags(layered, flags);
  if (flags.capacity !== undefined) {
    for (const stage of ['assemble', 'bake', 'deliver', 'status']) {
      set(layered, 'pizza-shop', `${stage}_capacity`, {
        value: flags.capacity,
        origin: { kind: 'flag', source: 'flag --capacity' },
      });
    }
  }
  rejectPlaceholders(layered);
  return { layered, files };
}

// Sections of client properties take any key; the others take what pizza reads.
const OPEN_SECTIONS = ['kafka', 'schema-registry'];
const KEYS_WITHOUT_DEFAULT: Readonly<Record<string, readonly string[]>> = {
  'pizza-shop': ['session_secret', 'host_id'],
};

function knownSettings(defaults: IniDocument): KnownSettings {
  const known = new Map<string, Set<string> | 'any'>(OPEN_SECTIONS.map((section) => [section, 'any']));
  const add = (section: string, key: string) => {
    const keys = known.get(section) ?? new Set<string>();
    if (keys !== 'any') known.set(section, keys.add(key));
  };
  for (const [section, entries] of defaults) for (const key of entries.keys()) add(section, key);
  for (const [section, key] of Object.values(FIELDS)) add(section, key);
  for (const [section, keys] of Object.entries(KEYS_WITHOUT_DEFAULT)) for (const key of keys) add(section, key);
  return known;
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw configError(`Config file ${path} ${reason}. Check the path given with --config or --system-config.`, error);
  }
}

function readDocument(text: string, source: string): IniDocument {
  try {
    return parseIni(text);
  } catch (error) {
    if (error instanceof IniSyntaxError) {
      throw configError(`${source}:${error.line}: ${error.message}. Fix the line or remove it.`);
    }
    throw error;
  }
}

function merge(layered: Layered, document: IniDocument, origin: Omit<Origin, 'line'>): void {
  for (const [section, entries] of document) {
    for (const [key, entry] of entries) {
      set(layered, section, key, { value: entry.value, origin: { ...origin, line: entry.line } });
    }
  }
}

function set(layered: Layered, section: string, key: string, value: Value): void {
  const entries = layered.get(section) ?? new Map<string, Value>();
  entries.set(key, value);
  layered.set(section, entries);
}

function applyFlags(layered: Layered, flags: SettingsFlags): void {
  for (const [flag, key] of Object.entries(FLAG_KEYS)) {
    const value = flags[flag as keyof typeof FLAG_KEYS];
    if (value === undefined || flag === 'capacity') continue;
    const option = `--${flag.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
    set(layered, 'pizza-shop', key, { value, origin: { kind: 'flag', source: `flag ${option}` } });
  }
}

function rejectPlaceholders(layered: Layered): void {
  for (const [section, entries] of layered) {
    for (const [key, entry] of entries) {
      const placeholder = PLACEHOLDER.exec(entry.value)?.[0];
      if (placeholder) {
        throw configError(
          `${where(entry.origin)}: [${section}] ${key} still holds the placeholder ${placeholder}. Replace it with your real value (for Confluent Cloud: the cluster's bootstrap server, API key or API secret).`,
        );
      }
    }
  }
}

function where(origin: Origin | undefined): string {
  if (!origin) return 'config';
  return origin.line === undefined ? origin.source : `${origin.source}:${origin.line}`;
}

function sectionRecord(layered: Layered, section: string): Record<string, string> | undefined {
  const entries = layered.get(section);
  if (!entries || entries.size === 0) return undefined;
  return Object.fromEntries([...entries].map(([key, entry]) => [key, entry.value]));
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function readStatuses(layered: Layered): StatusCatalog {
  const ids = {} as Record<StatusName, number>;
  const labels = {} as Record<StatusName, string>;
  for (const status of STATUS_NAMES) {
    const id = layered.get('status-id')?.get(status);
    const parsed = count.safeParse(id?.value);
    if (!id || !parsed.success) {
      throw configError(`${where(id?.origin)}: [status-id] ${status} must be a whole number such as 100.`);
    }
    ids[status] = parsed.data;
    labels[status] = layered.get('status-label')?.get(status)?.value ?? status;
  }
  const completed = layered.get('state-store-orders')?.get('status_completed_when');
  const completedIds = iniList(completed?.value ?? '').map((statusName) => {
    if (!isStatusName(statusName)) {
      throw configError(
        `${where(completed?.origin)}: [state-store-orders] status_completed_when names an unknown status "${statusName}". Use names from [status-id]: ${STATUS_NAMES.join(', ')}.`,
      );
    }
    return ids[statusName];
  });
  return {
    ids,
    labels,
    unknownStatusLabel: layered.get('status-label')?.get('else')?.value ?? 'Unknown status',
    completedIds,
  };
}

function readMenu(layered: Layered): Menu {
  const menu = {} as Record<keyof Menu, string[]>;
  for (const [field, key] of Object.entries(MENU_KEYS)) {
    const entry = layered.get('pizza')?.get(key);
    const items = iniList(entry?.value ?? '');
    if (items.length === 0 && field !== 'extraToppings') {
      throw configError(`${where(entry?.origin)}: [pizza] ${key} needs at least one item, one per indented line.`);
    }
    menu[field as keyof Menu] = items;
  }
  return menu;
}
