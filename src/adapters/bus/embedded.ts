import type { DeadLetterReason } from '../../domain/headers.js';
import type {
  Bus,
  BusRecord,
  Connectivity,
  Delivery,
  HostRead,
  HostReaderState,
  HostReadOptions,
  OutgoingHeaders,
  PartitionOffset,
  PartitionRange,
  PartitionRef,
  RecordHeaders,
  SubscribeOptions,
  Subscription,
} from './bus.js';
import { deadLetterFor } from './dead-letter.js';
import { Dispatcher } from './dispatcher.js';
import { HostReaderCore } from './host-read.js';
import { partitionForKey } from './murmur2.js';

export interface EmbeddedBusOptions {
  /** Partitions of each topic, created on first use. */
  partitions: number;
  /** How long `stop()` waits for records in flight. */
  shutdownGraceMs?: number;
  clock?: () => number;
  /** Where records that can never be worked on go; kept in memory like every topic here. */
  deadLetterTopic?: string;
}

interface Member {
  id: number;
  options: SubscribeOptions;
  dispatcher: Dispatcher;
  /** Bumped on every rebalance; a fetch loop of an older generation exits. */
  generation: number;
  assigned: Array<{ topic: string; partition: number }>;
}

interface Group {
  committed: Map<string, bigint>;
  members: Member[];
}

/**
 * Kafka's semantics in one process: keyed records in partitioned logs, consumer
 * groups that share partitions (range assignment, so co-partitioned topics go
 * to the same member), committed offsets, and redelivery of whatever was not
 * committed when a member leaves. It keeps everything in memory: a restart of
 * the process starts from empty topics.
 */
export class EmbeddedBus implements Bus {
  readonly kind = 'embedded' as const;
  private readonly topics = new Map<string, BusRecord[][]>();
  private readonly groups = new Map<string, Group>();
  private readonly waiters = new Set<() => void>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly hostReads = new Set<HostReaderCore>();
  private nextMemberId = 1;
  private closed = false;
  private readonly startedAt: number;

  constructor(private readonly options: EmbeddedBusOptions) {
    this.startedAt = this.now();
  }

  async publish(
    topic: string,
    key: string | Buffer,
    value: Buffer | null,
    headers?: OutgoingHeaders,
  ): Promise<Delivery> {
    if (this.closed) throw new Error('the embedded bus is closed');
    const partitions = this.log(topic);
    const keyBytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const partition = partitionForKey(keyBytes, partitions.length);
    const log = partitions[partition] as BusRecord[];
    const offset = String(log.length);
    const recordHeaders: RecordHeaders = {};
    for (const [name, headerValue] of Object.entries(headers ?? {})) {
      recordHeaders[name] = typeof headerValue === 'string' ? Buffer.from(headerValue, 'utf8') : headerValue;
    }
    log.push({
      topic,
      partition,
      offset,
      key: keyBytes.toString('utf8'),
      keyBytes,
      value,
      timestamp: this.now(),
      headers: recordHeaders,
    });
    for (const wake of [...this.waiters]) wake();
    return { topic, partition, offset };
  }

  /** Topics come into being on first use here, so every topic exists. */
  async requireTopics(): Promise<void> {}

  /** In one process there is no broker to lose. */
  connectivity(): Connectivity {
    return { up: true, since: this.startedAt, outages: 0 };
  }

  async readTopic(topic: string): Promise<BusRecord[]> {
    return this.records(topic);
  }

  async readRanges(ranges: readonly PartitionRange[]): Promise<BusRecord[]> {
    return ranges.flatMap((range) => {
      const log = this.log(range.topic)[range.partition] ?? [];
      const end = range.toOffset === undefined ? log.length : Number(range.toOffset);
      const from = Math.max(0, Number(range.fromOffset ?? 0));
      return log
        .slice(from, end)
        .filter((record) => range.fromTimestamp === undefined || record.timestamp >= range.fromTimestamp);
    });
  }

  async committedOffsets(groupId: string, partitions: readonly PartitionRef[]): Promise<PartitionOffset[]> {
    const committed = this.groups.get(groupId)?.committed;
    return partitions.flatMap(({ topic, partition }) => {
      const offset = committed?.get(`${topic}\u0000${partition}`);
      return offset === undefined ? [] : [{ topic, partition, offset: String(offset) }];
    });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('the embedded bus is closed');
    const group = this.group(options.groupId);
    const member: Member = {
      id: this.nextMemberId++,
      options,
      generation: 0,
      assigned: [],
      dispatcher: new Dispatcher({
        capacity: options.capacity,
        handle: options.handle,
        retry: options.retry,
        observer: options.observer,
        log: options.log,
        deadLetter: this.deadLetterFor(options.role),
        commit: (topic, partition, next) => {
          // A member commits only partitions it still owns, as Kafka's fencing does.
          if (member.assigned.some((tp) => tp.topic === topic && tp.partition === partition)) {
            group.committed.set(`${topic}\u0000${partition}`, BigInt(next));
            options.onCommit?.({ topic, partition, offset: next });
          }
        },
      }),
    };
    group.members.push(member);
    for (const topic of options.topics) this.log(topic);
    this.rebalance(group);

    let stopped: Promise<void> | undefined;
    const subscription: Subscription = {
      // In one process, joining is immediate.
      joined: () => !stopped,
      stop: () => {
        stopped ??= (async () => {
          member.generation += 1;
          await member.dispatcher.drain(this.options.shutdownGraceMs ?? 10_000);
          group.members = group.members.filter((other) => other !== member);
          member.assigned = [];
          this.rebalance(group);
          this.subscriptions.delete(subscription);
        })();
        return stopped;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Publishes what `role` gave up on to the dead-letter topic, as the Kafka bus does. */
  private deadLetterFor(role: string) {
    return async (record: BusRecord, reason: DeadLetterReason, error: unknown): Promise<void> => {
      const letter = deadLetterFor(record, { role, reason, error, now: this.now() });
      await this.publish(this.options.deadLetterTopic ?? 'pizza-dead-letter', letter.key, letter.value, letter.headers);
    };
  }

  /** A host reader: here one fetch loop per partition, since every record is already in memory. */
  async read(options: HostReadOptions): Promise<HostRead> {
    if (this.closed) throw new Error('the embedded bus is closed');
    const core = new HostReaderCore(options, {
      graceMs: this.options.shutdownGraceMs ?? 10_000,
      deadLetter: this.deadLetterFor(options.role),
    });
    const bounds = options.topics.flatMap((topic) =>
      this.log(topic).map((log, partition) => ({ topic, partition, low: 0n, high: BigInt(log.length) })),
    );
    const starts = await core.begin(bounds, async (topic, partition, timestamp) => {
      const index = (this.log(topic)[partition] ?? []).findIndex((record) => record.timestamp >= timestamp);
      return index < 0 ? undefined : BigInt(index);
    });
    this.hostReads.add(core);
    for (const start of starts) void this.readLoop(core, start.topic, start.partition, Number(start.offset));
    return {
      caughtUp: () => core.caughtUp(),
      positions: () => core.positions(),
      stop: async () => {
        await core.stop();
        this.hostReads.delete(core);
      },
    };
  }

  hostReaders(): HostReaderState[] {
    return [...this.hostReads].map((core) => core.state());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await Promise.all([...this.hostReads].map((core) => core.stop()));
    this.closed = true;
    for (const wake of [...this.waiters]) wake();
  }

  /** Creates a topic with its own partition count; a no-op when it exists. */
  createTopic(topic: string, partitions: number): void {
    if (!this.topics.has(topic))
      this.topics.set(
        topic,
        Array.from({ length: partitions }, () => []),
      );
  }

  /**
   * What the lineage view reads from the bus itself: each topic's end offsets,
   * each group's committed offsets and members, and each member's work in
   * flight (running or queued) against its capacity.
   */
  lineageObservations(): {
    topics: Array<{ name: string; ends: number[] }>;
    groups: Array<{
      groupId: string;
      committed: Array<{ topic: string; partition: number; offset: number }>;
      members: Array<{ memberId: string; clientId: string; role: string; inFlight: number; capacity: number }>;
    }>;
    readers: HostReaderState[];
  } {
    return {
      topics: [...this.topics].map(([name, partitions]) => ({ name, ends: partitions.map((log) => log.length) })),
      groups: [...this.groups].map(([groupId, group]) => ({
        groupId,
        committed: [...group.committed].map(([key, offset]) => {
          const [topic = '', partition = '0'] = key.split('\u0000');
          return { topic, partition: Number(partition), offset: Number(offset) };
        }),
        members: group.members.map((member) => ({
          memberId: String(member.id),
          clientId: member.options.clientId,
          role: member.options.role,
          inFlight: member.dispatcher.busy,
          capacity: member.options.capacity,
        })),
      })),
      readers: this.hostReaders(),
    };
  }

  /** Records on a topic, for tests and tools that inspect the log. */
  records(topic: string): BusRecord[] {
    return (this.topics.get(topic) ?? []).flat();
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  private log(topic: string): BusRecord[][] {
    let partitions = this.topics.get(topic);
    if (!partitions) {
      partitions = Array.from({ length: this.options.partitions }, () => []);
      this.topics.set(topic, partitions);
    }
    return partitions;
  }

  private group(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (!group) {
      group = { committed: new Map(), members: [] };
      this.groups.set(groupId, group);
    }
    return group;
  }

  private rebalance(group: Group): void {
    const members = [...group.members].sort((a, b) => a.id - b.id);
    for (const member of members) {
      for (const { topic, partition } of member.assigned) member.dispatcher.revoke(topic, partition);
      member.assigned = [];
      member.generation += 1;
    }
    const topics = new Set(members.flatMap((member) => member.options.topics));
    for (const topic of topics) {
      const subscribers = members.filter((member) => member.options.topics.includes(topic));
      const partitionCount = this.log(topic).length;
      // Range assignment: contiguous blocks, the first members taking one extra.
      const base = Math.floor(partitionCount / subscribers.length);
      const extra = partitionCount % subscribers.length;
      let next = 0;
      subscribers.forEach((member, index) => {
        const take = base + (index < extra ? 1 : 0);
        for (let i = 0; i < take; i += 1) member.assigned.push({ topic, partition: next + i });
        next += take;
      });
    }
    for (const member of members) void this.startMember(group, member, member.generation);
  }

  /** Lets the member restore what it needs for its partitions, then reads them from where it says. */
  private async startMember(group: Group, member: Member, generation: number): Promise<void> {
    let starts: PartitionOffset[] | undefined;
    if (member.options.onAssigned && member.assigned.length > 0) {
      for (let attempt = 1; member.generation === generation && !this.closed; attempt += 1) {
        try {
          starts = await member.options.onAssigned(member.assigned.map((tp) => ({ ...tp })));
          break;
        } catch (err) {
          member.options.log.warn({ err, attempt }, 'could not prepare newly assigned partitions; trying again');
          await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 2_000)));
        }
      }
    }
    if (member.generation !== generation) return;
    for (const tp of member.assigned) {
      const start = starts?.find((offset) => offset.topic === tp.topic && offset.partition === tp.partition);
      void this.fetchLoop(group, member, tp.topic, tp.partition, generation, start?.offset);
    }
  }

  private async readLoop(core: HostReaderCore, topic: string, partition: number, from: number): Promise<void> {
    const log = this.log(topic)[partition] as BusRecord[];
    let position = from;
    while (!this.closed && !core.stopped) {
      const record = log[position];
      if (!record) {
        await this.nextRecord();
        continue;
      }
      await core.whenRoom();
      if (this.closed || core.stopped) break;
      core.take([record]);
      position += 1;
    }
  }

  /** Resolves when any record is published (or the bus closes). */
  private nextRecord(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  private async fetchLoop(
    group: Group,
    member: Member,
    topic: string,
    partition: number,
    generation: number,
    startAt?: string,
  ) {
    const log = this.log(topic)[partition] as BusRecord[];
    // A negative start is Kafka's "from the beginning".
    let position = Math.max(0, Number(startAt ?? group.committed.get(`${topic}\u0000${partition}`) ?? 0n));
    while (!this.closed && member.generation === generation) {
      const record = log[position];
      if (!record) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.waiters.delete(wake);
            resolve();
          };
          this.waiters.add(wake);
        });
        continue;
      }
      await member.dispatcher.whenRoom();
      if (this.closed || member.generation !== generation) break;
      if (!member.dispatcher.dispatch(record)) break;
      position += 1;
    }
  }
}
