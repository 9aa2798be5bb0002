import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Settings, Topics } from '../../src/config/settings.js';

/** Each topic's key in the ini's [kafka-topics] section. */
export const TOPIC_INI_KEYS: Record<keyof Topics, string> = {
  ordered: 'pizza_ordered',
  assembled: 'pizza_assembled',
  baked: 'pizza_baked',
  delivered: 'pizza_delivered',
  pending: 'pizza_pending',
  status: 'pizza_status',
  deadLetter: 'pizza_dead_letter',
  logs: 'pizza_logs',
  roleStats: 'pizza_role_stats',
  sessions: 'pizza_sessions',
  cancelRequested: 'pizza_cancel_requested',
  cancelled: 'pizza_cancelled',
};

const GROUP_KEYS: Record<keyof Settings['groupIds'], string> = {
  assemble: 'microservice_assembled',
  bake: 'microservice_baked',
  deliver: 'microservice_delivery',
  status: 'microservice_status',
};

/**
 * The ini a user would write for these settings' broker, topics and groups,
 * plus any [pizza-shop] keys (data_dir, port, ...). Returns its path.
 */
export function writeShopIni(
  settings: Settings,
  shop: Record<string, string | number>,
  path = join(settings.shop.dataDir, 'client.ini'),
): string {
  const lines = [
    '[kafka]',
    `bootstrap.servers = ${settings.kafka?.['bootstrap.servers']}`,
    '[kafka-topics]',
    ...Object.entries(TOPIC_INI_KEYS).map(([key, name]) => `${name} = ${settings.topics[key as keyof Topics]}`),
    '[kafka-topic-config]',
    `num_partitions = ${settings.topicConfig.numPartitions}`,
    'replication_factor = 1',
    '[kafka-consumer-group-id]',
    ...Object.entries(GROUP_KEYS).map(
      ([role, name]) => `${name} = ${settings.groupIds[role as keyof Settings['groupIds']]}`,
    ),
    '[pizza-shop]',
    ...Object.entries(shop).map(([key, value]) => `${key} = ${value}`),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
