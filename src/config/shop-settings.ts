/**
 * The `[pizza-shop]` section: this project's own settings, which the
 * workshop's files do not have. Some are also flags (`flag` in their meta).
 */
import { z } from 'zod';
import { boolean, count, name, optionalSetting, port, positive, section, setting } from './setting.js';
import { trustProxy } from './trust-proxy.js';

const WHOLE = 'a whole number, 1 or more';

export type StatusSource = 'topics' | 'pizza-status';

function capacity(stage: string, orders: number) {
  return setting(count, {
    default: String(orders),
    description: `Orders ${stage} works on at once, per process (--capacity sets every stage).`,
    hint: WHOLE,
  });
}

export const shopSection = section(
  {
    time_scale: setting(z.coerce.number().min(0).max(1000), {
      default: '1',
      description: "Multiplies every simulated duration: 1 is the workshop's seconds, 0 is instant.",
      hint: 'a number from 0 (instant) to 1000; 1 is real time',
      flag: '--time-scale',
    }),
    assemble_capacity: capacity('assembly', 8),
    bake_capacity: capacity('the oven', 8),
    deliver_capacity: capacity('delivery', 16),
    status_capacity: capacity('the status service', 512),
    data_dir: setting(name, {
      default: '.data',
      description: 'Where the SQLite files and generated secrets live, relative to the working directory.',
      hint: 'a directory path',
      flag: '--data-dir',
    }),
    log_dir: setting(name, {
      default: '.data/logs',
      description: 'Where each role writes its log file.',
      hint: 'a directory path',
      flag: '--log-dir',
    }),
    host: setting(name, {
      default: '127.0.0.1',
      description: "The web app's address.",
      hint: 'a host name or IP address',
      flag: '--host',
    }),
    port: setting(port, {
      default: '8000',
      description: "The web app's port; 0 picks a free one.",
      hint: 'a TCP port from 0 to 65535',
      flag: '--port',
    }),
    status_source: setting(z.enum(['auto', 'topics', 'pizza-status']), {
      default: 'auto',
      description:
        'Where the status view reads from: the Flink-built pizza-status topic, the stage topics, or auto (pizza-status on Kafka, the stage topics on the embedded bus).',
      hint: 'one of auto, topics, pizza-status',
      flag: '--status-source',
    }),
    session_timeout_ms: setting(z.coerce.number().int().min(1000).max(3_600_000), {
      default: '6000',
      description: 'A consumer that stops heartbeating loses its partitions after this long (crash failover).',
      hint: "milliseconds, at least the broker's group.min.session.timeout.ms (6000 by default)",
    }),
    heartbeat_interval_ms: setting(z.coerce.number().int().min(100).max(3_600_000), {
      default: '1500',
      description: 'How often a consumer tells its group it is alive; a third of session_timeout_ms or less.',
      hint: 'milliseconds, well below session_timeout_ms (a third or less)',
    }),
    order_id_length: setting(z.coerce.number().int().min(8).max(32), {
      default: '8',
      description: "Hex characters in a new order id: the workshop's 8, or more where many web hosts take orders.",
      hint: 'a whole number of hex characters from 8 (the workshop) to 32',
    }),
    trust_proxy: setting(trustProxy, {
      default: 'false',
      description:
        "The proxies in front of the web app whose X-Forwarded-* headers count (for Secure cookies and the client's address): false (none), true (one TLS proxy), a number of proxies, or their addresses/CIDRs. The client is the right-most X-Forwarded-For address that is not a trusted proxy.",
      hint: 'false, true (one proxy), a number of proxies such as 2, or proxy addresses such as 10.0.0.5,10.1.0.0/16',
    }),
    log_topic_retention_hours: setting(positive, {
      default: '4',
      description: "How long the log topic keeps the roles' lines about each order.",
      hint: 'a number of hours',
    }),
    operator_host: setting(name, {
      default: '127.0.0.1',
      description: "The operators' address (metrics, probes, dead letters): never the customers' one.",
      hint: 'a host name or IP address (127.0.0.1 keeps it local)',
    }),
    operator_port: setting(port, {
      default: '0',
      description: "The operators' port; 0 picks a free one, printed at start.",
      hint: 'a TCP port from 0 (any free port) to 65535',
      flag: '--operator-port',
    }),
    log_file_max_size: setting(z.string().regex(/^\d+(\.\d+)?[kmg]?$/i), {
      default: '10m',
      description: "A role's log file rolls over at this size.",
      hint: 'a size such as 500k, 10m or 1g',
    }),
    processing: setting(z.enum(['at-least-once', 'exactly-once']), {
      default: 'at-least-once',
      description: "at-least-once, or exactly-once: Kafka transactions around each role's work.",
      hint: 'at-least-once or exactly-once',
    }),
    value_format: setting(z.enum(['json', 'avro']), {
      default: 'json',
      description:
        'How roles write the workshop topics: json (plain, as the workshop) or avro (framed by the Schema Registry in [schema-registry], under the contracts).',
      hint: 'json or avro',
    }),
    contracts_dir: setting(z.string(), {
      default: '',
      description: 'Where the Avro contracts (*.avsc) are; empty, the ones pizza ships in contracts/.',
      hint: 'a directory path, or leave it empty',
    }),
    log_files_kept: setting(z.coerce.number().int().min(1).max(1000), {
      default: '5',
      description: 'How many rolled-over log files each role keeps.',
      hint: WHOLE,
    }),
    otlp_endpoint: setting(
      z
        .string()
        .regex(/^(https?:\/\/\S+)?$/)
        .transform((url) => url || undefined),
      {
        default: '',
        description: 'Where traces go over OTLP/HTTP; empty, tracing is off.',
        hint: 'an http(s) URL such as http://127.0.0.1:4318/v1/traces, or leave it empty to turn tracing off',
      },
    ),
    load_button: setting(z.enum(['auto', 'true', 'false']), {
      default: 'auto',
      description: "The lineage page's demo-load form; auto shows it on the embedded bus only.",
      hint: 'auto, true or false',
    }),
    streams_per_session: setting(count, {
      default: '8',
      description: 'Open live streams (server-sent events) allowed per customer session.',
      hint: WHOLE,
    }),
    streams_per_address: setting(count, {
      default: '32',
      description: 'Open live streams allowed per client address.',
      hint: WHOLE,
    }),
    streams_total: setting(count, {
      default: '1000',
      description: 'Open live streams allowed on this host.',
      hint: WHOLE,
    }),
    session_hours: setting(
      z.coerce
        .number()
        .positive()
        .max(24 * 365),
      {
        default: '12',
        description: 'A session cookie is refused this long after login.',
        hint: 'a number of hours, such as 12',
      },
    ),
    login_rate_per_minute: setting(count, {
      default: '60',
      description: 'Logins allowed per client address and minute, on each web host.',
      hint: 'a whole number of logins, 1 or more',
    }),
    stop_timeout_seconds: setting(z.coerce.number().positive().max(3600), {
      // Stage roles stop one after another, each letting work in flight finish for up to 10 s.
      default: '60',
      description:
        'How long a stop (Ctrl-C, SIGTERM) may take to hand back work, commit and close; then the process exits with code 1.',
      hint: 'a number of seconds, such as 60',
    }),
    order_admission: setting(boolean, {
      default: 'true',
      description:
        'Order admission: the order rate limits and the kitchen backlog bound below; false turns them all off (the benchmark and the test helpers, which order far faster than people).',
      hint: 'true or false',
    }),
    orders_per_session_per_minute: setting(count, {
      default: '10',
      description: 'Orders allowed per customer session and minute, on each web host; more get a 429 page.',
      hint: 'a whole number of orders, 1 or more',
    }),
    orders_per_address_per_minute: setting(count, {
      default: '30',
      description:
        'Orders allowed per client address and minute (several people behind one address), on each web host.',
      hint: 'a whole number of orders, 1 or more',
    }),
    kitchen_backlog_max: setting(count, {
      // At time scale 1 the default kitchen bakes about 0.7 orders a second: 40 waiting is under a
      // minute's queue, about the watchdog's 45 s after which an order shows as delayed.
      default: '40',
      description:
        'Orders waiting for the kitchen (placed, not yet baked) at which a new order is refused with a 503 "The kitchen is busy" page.',
      hint: 'a whole number of orders, 1 or more',
    }),
    confluent_cloud: setting(z.enum(['auto', 'true', 'false']), {
      default: 'auto',
      description:
        "Whether the cluster is Confluent Cloud, where the Flink statement creates pizza-status and topics need 3 replicas; auto tells from the brokers' host names.",
      hint: 'auto, true or false',
    }),
    session_secret: optionalSetting(z.string(), {
      description: 'Signs session cookies, the same on every web host; unset, one is generated into the data dir.',
      hint: 'a long random string',
      secret: true,
    }),
    host_id: optionalSetting(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), {
      description: 'Names this host in per-host consumer groups; unset, one is generated into the data dir.',
      hint: '1 to 64 letters, digits, - or _',
    }),
  },
  { description: "This project's own settings, beyond the workshop's." },
);

/** The `shop` part of the settings; `onKafka` settles what `auto` means. */
export function shopSettings(shop: z.output<typeof shopSection>, onKafka: boolean) {
  const statusSource: StatusSource =
    shop.status_source === 'auto' ? (onKafka ? 'pizza-status' : 'topics') : shop.status_source;
  return {
    timeScale: shop.time_scale,
    capacity: {
      assemble: shop.assemble_capacity,
      bake: shop.bake_capacity,
      deliver: shop.deliver_capacity,
      status: shop.status_capacity,
    },
    dataDir: shop.data_dir,
    logDir: shop.log_dir,
    host: shop.host,
    port: shop.port,
    statusSource,
    sessionTimeoutMs: shop.session_timeout_ms,
    heartbeatIntervalMs: shop.heartbeat_interval_ms,
    orderIdLength: shop.order_id_length,
    trustProxy: shop.trust_proxy,
    logTopicRetentionHours: shop.log_topic_retention_hours,
    operatorHost: shop.operator_host,
    operatorPort: shop.operator_port,
    processing: shop.processing,
    logFileMaxSize: shop.log_file_max_size,
    logFilesKept: shop.log_files_kept,
    otlpEndpoint: shop.otlp_endpoint,
    hostId: shop.host_id || undefined,
    sessionSecret: shop.session_secret || undefined,
    loadButton: shop.load_button === 'auto' ? !onKafka : shop.load_button === 'true',
    streamsPerSession: shop.streams_per_session,
    streamsPerAddress: shop.streams_per_address,
    streamsTotal: shop.streams_total,
    sessionHours: shop.session_hours,
    loginRatePerMinute: shop.login_rate_per_minute,
    stopTimeoutMs: Math.round(shop.stop_timeout_seconds * 1000),
    admission: {
      enabled: shop.order_admission,
      ordersPerSessionPerMinute: shop.orders_per_session_per_minute,
      ordersPerAddressPerMinute: shop.orders_per_address_per_minute,
      kitchenBacklogMax: shop.kitchen_backlog_max,
    },
    contracts: {
      /** The format roles write on the contract topics; readers take both, record by record. */
      valueFormat: shop.value_format,
      /** undefined: the contracts pizza ships. */
      dir: shop.contracts_dir || undefined,
    },
    /** `auto`: topics:check tells from the cluster. */
    confluentCloud: shop.confluent_cloud === 'auto' ? ('auto' as const) : shop.confluent_cloud === 'true',
  };
}
