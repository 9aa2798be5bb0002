/**
 * The one schema of pizza's settings, laid out as the workshop's ini files
 * are: a section per `[name]`, a key per setting. Each setting carries its
 * default, description and hint (see setting.ts); the `Settings` type the
 * rest of pizza uses is what this schema outputs.
 */
import { z } from 'zod';
import { menuFrom, menuSection } from './menu.js';
import { count, name, openSection, positive, section, setting, settingRegistry } from './setting.js';
import { shopSection, shopSettings } from './shop-settings.js';
import { completedWhenSetting, statusCatalog, statusIdSection, statusLabelSection } from './statuses.js';

export type { StatusSource } from './shop-settings.js';
export const ROLE_NAMES = ['serve', 'assemble', 'bake', 'deliver', 'status'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
export type StageRole = Exclude<RoleName, 'serve'>;

function topic(defaultName: string, description: string) {
  return setting(name, { default: defaultName, description, hint: 'a topic name' });
}

const topicsSection = section(
  {
    pizza_pending: topic('pizza-pending', 'Baked before delivery heard of the order: delivery is checking it.'),
    pizza_ordered: topic('pizza-ordered', 'New orders, from the web app.'),
    pizza_assembled: topic('pizza-assembled', 'Assembled pizzas with their baking time.'),
    pizza_baked: topic('pizza-baked', 'Baked pizzas, ready for delivery.'),
    pizza_delivered: topic('pizza-delivered', 'Delivered orders.'),
    pizza_status: topic('pizza-status', "Each order's latest status, built by the Flink statement."),
    pizza_dead_letter: topic(
      'pizza-dead-letter',
      'Records that can never be worked on, with headers that say why (pizza dead-letters).',
    ),
    pizza_logs: topic('pizza-logs', "The roles' log lines about each order, for the web app on any host."),
    pizza_role_stats: topic(
      'pizza-role-stats',
      "Each role's work in flight and capacity, every few seconds, for the lineage view.",
    ),
    pizza_sessions: topic('pizza-sessions', 'Logged-out sessions (compacted): every web host refuses their cookies.'),
    pizza_cancel_requested: topic('pizza-cancel-requested', "A customer's request to cancel an order."),
    pizza_cancelled: topic('pizza-cancelled', 'How a cancel request ended: cancelled, or refused as too late.'),
  },
  { description: 'The topic names, by their role in the shop.' },
);

/** The workshop's replication factor, made for Confluent Cloud. */
export const WORKSHOP_REPLICATION_FACTOR = 3;

const topicConfigSection = section(
  {
    num_partitions: setting(count, {
      default: '1',
      description: 'Partitions of each topic `pizza topics:check --create` makes.',
      hint: 'a whole number, 1 or more',
    }),
    // Left unset rather than defaulted: an unset factor may be fitted to a smaller cluster, a chosen one may not.
    replication_factor: count.optional().register(settingRegistry, {
      default: String(WORKSHOP_REPLICATION_FACTOR),
      description:
        'Replicas of each topic `pizza topics:check --create` makes. Unset, 3 on Confluent Cloud, else at most the number of brokers.',
      hint: 'a whole number, 1 or more',
    }),
  },
  { description: 'How `pizza topics:check --create` makes topics.' },
);

function groupId(defaultId: string, description: string) {
  return setting(name, { default: defaultId, description, hint: 'a consumer group id' });
}

const groupIdSection = section(
  {
    microservice_status: groupId('pizza_status', "The status service's consumer group."),
    microservice_ordered: groupId('pizza_ordered', "The workshop's; no pizza role uses it."),
    microservice_assembled: groupId('pizza_assemble', "Assembly's consumer group."),
    microservice_baked: groupId('pizza_bake', "The oven's consumer group."),
    microservice_delivery: groupId('pizza_delivery', "Delivery's consumer group."),
  },
  { description: "Each service's consumer group." },
);

function clientId(defaultId: string, description: string) {
  return setting(name, { default: defaultId, description, hint: 'a client id' });
}

const clientIdSection = section(
  {
    webapp: clientId('pizza_client_webapp', "The web app's Kafka client id."),
    microservice_status: clientId('pizza_client_status', "The status service's Kafka client id."),
    microservice_ordered: clientId('pizza_client_ordered', "The workshop's; no pizza role uses it."),
    microservice_assembled: clientId('pizza_client_assemble', "Assembly's Kafka client id."),
    microservice_baked: clientId('pizza_client_bake', "The oven's Kafka client id."),
    microservice_delivery: clientId('pizza_client_delivery', "Delivery's Kafka client id."),
  },
  { description: "Each service's Kafka client id." },
);

function hours(defaultHours: string, description: string) {
  return setting(positive, { default: defaultHours, description, hint: 'a number of hours' });
}

function minutes(defaultMinutes: string, description: string) {
  return setting(positive, { default: defaultMinutes, description, hint: 'a number of minutes' });
}

function maxSizeMb(file: string) {
  return setting(z.coerce.number().min(0), {
    default: '0',
    description: `Caps ${file}'s file size: past it, writes wait as on a full disk (the role turns not-ready, and carries on once there is room). 0: no cap.`,
    hint: 'a number of megabytes, such as 512 (0 for no cap)',
  });
}

const ordersStoreSection = section(
  {
    name: setting(name, {
      default: 'orders.db',
      description: 'The orders view: its SQLite file in the data dir.',
      hint: 'a file name such as orders.db',
    }),
    table_orders_retention_hours: hours('4', 'How long the view keeps an order.'),
    table_status_retention_hours: hours('4', "How long the view keeps an order's statuses."),
    status_watchdog_minutes: minutes('0.25', 'How often the watchdog looks for stuck orders.'),
    status_invalid_timeout_minutes: minutes(
      '0.75',
      'An order whose status has not moved this long, and is not complete, is stuck.',
    ),
    status_completed_when: completedWhenSetting,
    max_size_mb: maxSizeMb('the orders view'),
  },
  { description: 'The orders view the status service keeps.' },
);

const deliveryStoreSection = section(
  {
    name: setting(name, {
      default: 'delivery.db',
      description: "Delivery's state: its SQLite file in the data dir.",
      hint: 'a file name such as delivery.db',
    }),
    table_customers_retention_hours: hours('4', 'How long delivery remembers which customer an order is for.'),
    max_size_mb: maxSizeMb("delivery's state"),
  },
  { description: "Delivery's own state." },
);

/** Every section, in the order `config:print` shows them. */
export const settingSections = {
  'kafka-topics': topicsSection,
  'kafka-topic-config': topicConfigSection,
  'kafka-consumer-group-id': groupIdSection,
  'kafka-client-id': clientIdSection,
  'status-id': statusIdSection,
  'status-label': statusLabelSection,
  pizza: menuSection,
  'state-store-orders': ordersStoreSection,
  'state-store-delivery': deliveryStoreSection,
  'pizza-shop': shopSection,
  kafka: openSection({
    description: 'librdkafka properties, passed to the Kafka client as they are; none means the embedded bus.',
  }),
  'schema-registry': openSection({
    description:
      'The Schema Registry client (url, basic.auth.user.info): for Avro contracts on the workshop topics, and an Avro pizza-status table.',
  }),
};

type Sections = z.output<z.ZodObject<typeof settingSections>>;

/** Checks that span keys; each names the key a user must change. */
function checkAcrossKeys(sections: Sections, ctx: z.RefinementCtx): void {
  const { kafka } = sections;
  if (kafka && Object.keys(kafka).length > 0 && !kafka['bootstrap.servers']) {
    ctx.addIssue({
      code: 'custom',
      path: ['kafka', 'bootstrap.servers'],
      message: '[kafka] needs bootstrap.servers = host:port',
    });
  }
  if (sections['pizza-shop'].value_format === 'avro' && !sections['schema-registry']?.url) {
    ctx.addIssue({
      code: 'custom',
      path: ['pizza-shop', 'value_format'],
      message:
        '[pizza-shop] value_format = avro needs a Schema Registry: add [schema-registry] with url = https://<your Schema Registry endpoint>',
    });
  }
  const { heartbeat_interval_ms: heartbeat, session_timeout_ms: session } = sections['pizza-shop'];
  if (heartbeat * 3 > session) {
    ctx.addIssue({
      code: 'custom',
      path: ['pizza-shop', 'heartbeat_interval_ms'],
      message: `[pizza-shop] heartbeat_interval_ms = ${heartbeat} is too close to session_timeout_ms = ${session}: a member would be thrown out of its group after one late heartbeat. Use a third of the session timeout or less`,
    });
  }
}

/** From the ini's layout to the shape the roles use. */
function shapeSettings(sections: Sections) {
  const kafka = nonEmpty(sections.kafka);
  const topics = sections['kafka-topics'];
  const topicConfig = sections['kafka-topic-config'];
  const groups = sections['kafka-consumer-group-id'];
  const clients = sections['kafka-client-id'];
  const orders = sections['state-store-orders'];
  const delivery = sections['state-store-delivery'];
  return {
    /** librdkafka properties from the [kafka] section; undefined means the embedded bus. */
    kafka,
    /** The [schema-registry] section (url, basic.auth.user.info), if any. */
    schemaRegistry: nonEmpty(sections['schema-registry']),
    topics: {
      ordered: topics.pizza_ordered,
      assembled: topics.pizza_assembled,
      baked: topics.pizza_baked,
      delivered: topics.pizza_delivered,
      pending: topics.pizza_pending,
      status: topics.pizza_status,
      deadLetter: topics.pizza_dead_letter,
      logs: topics.pizza_logs,
      roleStats: topics.pizza_role_stats,
      sessions: topics.pizza_sessions,
      cancelRequested: topics.pizza_cancel_requested,
      cancelled: topics.pizza_cancelled,
    },
    topicConfig: {
      numPartitions: topicConfig.num_partitions,
      replicationFactor: topicConfig.replication_factor ?? WORKSHOP_REPLICATION_FACTOR,
      /** True when no file, variable or flag set replication_factor: topic creation may then fit it to the cluster. */
      replicationFactorIsDefault: topicConfig.replication_factor === undefined,
    },
    groupIds: {
      status: groups.microservice_status,
      assemble: groups.microservice_assembled,
      bake: groups.microservice_baked,
      deliver: groups.microservice_delivery,
    } satisfies Record<StageRole, string>,
    clientIds: {
      serve: clients.webapp,
      status: clients.microservice_status,
      assemble: clients.microservice_assembled,
      bake: clients.microservice_baked,
      deliver: clients.microservice_delivery,
    } satisfies Record<RoleName, string>,
    statuses: statusCatalog(sections['status-id'], sections['status-label'], orders.status_completed_when),
    menu: menuFrom(sections.pizza),
    orders: {
      fileName: orders.name,
      ordersRetentionHours: orders.table_orders_retention_hours,
      statusRetentionHours: orders.table_status_retention_hours,
      watchdogIntervalMinutes: orders.status_watchdog_minutes,
      stuckAfterMinutes: orders.status_invalid_timeout_minutes,
      /** 0: no cap. */
      maxSizeMb: orders.max_size_mb,
    },
    delivery: {
      fileName: delivery.name,
      retentionHours: delivery.table_customers_retention_hours,
      /** 0: no cap. */
      maxSizeMb: delivery.max_size_mb,
    },
    shop: shopSettings(sections['pizza-shop'], kafka !== undefined),
  };
}

function nonEmpty(properties: Record<string, string> | undefined): Record<string, string> | undefined {
  return properties && Object.keys(properties).length > 0 ? properties : undefined;
}

/** Takes `{ section: { key: 'ini text' } }` (unset keys left out) and gives the settings. */
export const settingsSchema = z.object(settingSections).superRefine(checkAcrossKeys).transform(shapeSettings);

/** The settings as pizza uses them, and the files they were read from. */
export interface Settings extends z.output<typeof settingsSchema> {
  /** The files the settings were read from, for messages. */
  files: string[];
}
export type Topics = Settings['topics'];
