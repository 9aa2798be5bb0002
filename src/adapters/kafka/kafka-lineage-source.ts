import pkg from '@confluentinc/kafka-javascript';
import type { Logger } from 'pino';
import type { Settings } from '../../config/settings.js';
import {
  type GroupObservation,
  hostReaderGroups,
  type LineageObservations,
  type LineageSource,
  parseRoleReport,
  ROLE_REPORT_TTL_MS,
  type RoleReport,
  roleReportKey,
  type TopicObservation,
  withHostReaderGroups,
} from '../../lineage/observations.js';
import { type LineagePlan, serviceOfGroup } from '../../lineage/plan.js';
import type { Bus, BusRecord, HostRead } from '../bus/bus.js';
import { type KafkaAdmin, KafkaClients } from './client.js';

const { KafkaConsumer } = pkg;
type RawConsumer = InstanceType<typeof KafkaConsumer>;

const ADMIN_TIMEOUT_MS = 10_000;

export interface KafkaLineageSourceOptions {
  settings: Settings;
  plan: LineagePlan;
  log: Logger;
  now?: () => number;
  /**
   * The process's bus, when there is one: the stats topic is then tailed by
   * its shared host reader instead of a consumer of the source's own.
   */
  bus?: Pick<Bus, 'read'>;
}

/**
 * Lineage observations from any Kafka cluster through the admin API: the
 * groups that belong to the shop's services (ours on any host, and the
 * workshop's Python services, by group id), their members and committed
 * offsets, and each journey topic's end offsets. Work in flight is not in
 * Kafka's metadata: it comes from the roles' reports on the stats topic,
 * tailed outside any group while the source is open. So do the host readers'
 * positions (the status view's, the web app's): they have no group, and each
 * reported one stands for a group of one host.
 */
export function kafkaLineageSource(options: KafkaLineageSourceOptions): LineageSource {
  const { settings, plan, log } = options;
  const now = options.now ?? Date.now;
  if (!settings.kafka) throw new Error('kafkaLineageSource needs the [kafka] section of the settings');
  const clients = new KafkaClients(settings.kafka, log);
  let admin: KafkaAdmin | undefined;
  let connecting: Promise<KafkaAdmin> | undefined;
  const stats = new RoleReportTail(clients, settings.topics.roleStats, log, now, options.bus);

  const connected = (): Promise<KafkaAdmin> => {
    connecting ??= (async () => {
      const created = clients.admin();
      try {
        await created.connect();
        await clients.probe(created);
      } catch (error) {
        connecting = undefined;
        await created.disconnect().catch(() => {});
        throw error;
      }
      admin = created;
      return created;
    })();
    return connecting;
  };

  return {
    async observe(): Promise<LineageObservations> {
      const client = await connected();
      const existing = new Set(await client.listTopics({ timeout: ADMIN_TIMEOUT_MS }));
      const notes: string[] = [];
      if (existing.has(settings.topics.roleStats)) await stats.ensureStarted(client);
      else {
        notes.push(
          `${settings.topics.roleStats} does not exist, so no role reports its work in flight: create it with pizza topics:check --create.`,
        );
      }
      const [topics, groups] = await Promise.all([
        Promise.all(plan.topics.filter((name) => existing.has(name)).map((name) => topicEnds(client, name))),
        shopGroups(client, plan),
      ]);
      const reports = stats.reports();
      const at = now();
      // Host readers have no group: their roles' reports say where each host has read to.
      const readers = hostReaderGroups(reports, at, ROLE_REPORT_TTL_MS).filter(
        (group) => serviceOfGroup(plan, group.groupId) !== undefined,
      );
      return { at, topics, groups: withHostReaderGroups(groups, readers), reports, notes };
    },
    async close(): Promise<void> {
      await stats.stop();
      const current = admin;
      admin = undefined;
      connecting = undefined;
      await current
        ?.disconnect()
        .catch((err: unknown) => log.debug({ err }, 'lineage admin did not disconnect cleanly'));
    },
  };
}

async function topicEnds(admin: KafkaAdmin, name: string): Promise<TopicObservation> {
  const offsets = await admin.fetchTopicOffsets(name, { timeout: ADMIN_TIMEOUT_MS } as never);
  return {
    name,
    partitions: offsets.map((entry) => ({
      partition: entry.partition,
      start: Number(entry.low),
      end: Number(entry.high),
    })),
  };
}

/** The groups of the shop's services, with their members and committed offsets. */
async function shopGroups(admin: KafkaAdmin, plan: LineagePlan): Promise<GroupObservation[]> {
  const listed = await admin.listGroups({ timeout: ADMIN_TIMEOUT_MS });
  const ids = listed.groups.map((group) => group.groupId).filter((id) => serviceOfGroup(plan, id) !== undefined);
  if (ids.length === 0) return [];
  const described = await admin.describeGroups(ids, { timeout: ADMIN_TIMEOUT_MS });
  const members = new Map(described.groups.map((group) => [group.groupId, group.members]));
  return Promise.all(
    ids.map(async (groupId): Promise<GroupObservation> => {
      const committed = await admin.fetchOffsets({ groupId, timeout: ADMIN_TIMEOUT_MS });
      return {
        groupId,
        members: (members.get(groupId) ?? []).map((member) => ({
          memberId: member.memberId,
          clientId: member.clientId,
        })),
        committed: committed.flatMap(({ topic, partitions }) =>
          partitions
            // -1: no offset committed for that partition.
            .filter((entry) => Number(entry.offset) >= 0)
            .map((entry) => ({ topic, partition: entry.partition, offset: Number(entry.offset) })),
        ),
      };
    }),
  );
}

/**
 * The newest report per key on the stats topic: a consumer in no group,
 * assigned every partition from a little before now, keeps reading while the
 * source is open. A null value (a role that stopped cleanly) removes its key.
 */
class RoleReportTail {
  private readonly latest = new Map<string, RoleReport>();
  private consumer: RawConsumer | undefined;
  private reader: HostRead | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly clients: KafkaClients,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly bus?: Pick<Bus, 'read'>,
  ) {}

  reports(): RoleReport[] {
    return [...this.latest.values()];
  }

  ensureStarted(admin: KafkaAdmin): Promise<void> {
    this.stopped = false;
    this.starting ??= this.start(admin).catch((err: unknown) => {
      this.starting = undefined;
      this.log.warn({ err, topic: this.topic }, 'could not read role reports; trying again on the next look');
    });
    return this.starting;
  }

  private async start(admin: KafkaAdmin): Promise<void> {
    const since = this.now() - ROLE_REPORT_TTL_MS;
    if (this.bus) {
      this.reader = await this.bus.read({
        id: 'pizza-lineage',
        topics: [this.topic],
        capacity: 16,
        role: 'lineage',
        log: this.log,
        startAt: (partitions) => partitions.map((partition) => ({ ...partition, from: { timestamp: since } })),
        // A report is advice: one that cannot be read is skipped, never retried or dead-lettered.
        handle: async (record: BusRecord) => this.take(record.key, record.value),
      });
      return;
    }
    const [ends, fromTime] = await Promise.all([
      admin.fetchTopicOffsets(this.topic),
      admin.fetchTopicOffsetsByTimestamp(this.topic, since),
    ]);
    const consumer = new KafkaConsumer(
      {
        ...(this.clients.config({}) as Record<string, string | number | boolean>),
        // librdkafka wants a group id; assign() never joins it and nothing is committed.
        'group.id': `pizza-lineage-${process.pid}`,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
      } as never,
      {},
    );
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 15_000 }, (err) => (err ? reject(err) : resolve())),
    );
    consumer.assign(
      ends.map(({ partition, high }) => {
        const found = fromTime.find((entry) => entry.partition === partition);
        const offset = found && Number(found.offset) >= 0 ? Number(found.offset) : Number(high);
        return { topic: this.topic, partition, offset };
      }),
    );
    this.consumer = consumer;
    void this.loop(consumer);
  }

  private async loop(consumer: RawConsumer): Promise<void> {
    // A tail that reads while the source is open, not a retry: no attempt ever finishes, so no p-retry.
    while (!this.stopped && this.consumer === consumer) {
      try {
        const batch = await new Promise<pkg.Message[]>((resolve, reject) =>
          consumer.consume(100, (err, messages) => (err ? reject(err) : resolve(messages))),
        );
        for (const message of batch) {
          this.take(message.key ? Buffer.from(message.key).toString('utf8') : null, message.value ?? null);
        }
        if (batch.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
      } catch (err) {
        this.log.debug({ err }, 'reading role reports failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  private take(key: string | null, value: Buffer | null): void {
    if (!key) return;
    if (value === null) {
      this.latest.delete(key);
      return;
    }
    const report = parseRoleReport(value);
    // A report under someone else's key would let one process stand for another.
    if (report && roleReportKey(report) === key) this.latest.set(key, report);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting;
    const consumer = this.consumer;
    const reader = this.reader;
    this.consumer = undefined;
    this.reader = undefined;
    this.starting = undefined;
    this.latest.clear();
    await reader?.stop();
    if (consumer) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
