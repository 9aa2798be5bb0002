/**
 * Produce per turn: the `publish` calls made in one turn of the event loop are
 * queued and handed to the client together, one call per topic, and each caller
 * still learns its own record's fate (partition and offset, or the error).
 *
 * What a multi-message KafkaJS-style `producer.send({ topic, messages })` does
 * in @confluentinc/kafka-javascript 1.10 (lib/kafkajs/_producer.js), and why we
 * do not call it:
 * - It loops over the messages and calls the native `produce()` once per message,
 *   each with an opaque `{ resolve, reject }`; librdkafka does the batching into
 *   requests (linger.ms, batch.size) whatever the number of `send` calls.
 * - The connected producer's 'delivery-report' handler resolves that opaque with
 *   `{ topicName, partition, baseOffset, ... }`, or rejects it with a
 *   KafkaJSError made from the librdkafka error. One report per message.
 * - `send` awaits `Promise.all` of the messages, then returns ONE metadata entry
 *   per topic+partition (the lowest baseOffset among that partition's messages),
 *   in the order the first report of each partition arrived: not one per
 *   message, not in message order. A message's own offset cannot be recovered
 *   from it (its partition is chosen inside librdkafka), and one failed message
 *   rejects the whole send although the others may have been written.
 * - `sendBatch` is `send` per topic under another `Promise.all`: the same.
 * So we do exactly what `send` does per message (native `produce` with an opaque
 * the same report handler settles) but keep each message's promise: per-record
 * results, a failure rejects exactly its own caller, and each caller resumes as
 * soon as its own report is in. What coalescing saves is the per-call cost of
 * `send` (an async function, its checks, a Promise.all, a Map per record).
 */
import type { Delivery, OutgoingHeaders } from '../bus/bus.js';

export interface OutgoingMessage {
  key: string | Buffer;
  value: Buffer | null;
  headers?: OutgoingHeaders | undefined;
}

/**
 * Hands one topic's messages to the client at once; one promise per message,
 * in the same order, each settled by that message's own delivery report.
 */
export type SendTopic = (topic: string, messages: readonly OutgoingMessage[]) => Array<Promise<Delivery>>;

/** When the collected messages go out: after the current turn, or after the current microtasks. */
export type TurnScheduler = (flush: () => void) => void;

/** setImmediate: a handler's publishes come after awaits in other microtasks of the same turn, so wait for all of them. */
export const afterTurn: TurnScheduler = (flush) => {
  setImmediate(flush);
};

/**
 * queueMicrotask: only what is published before the current microtask queue drains. Measured
 * (scripts/bench-requests.ts, 128 handlers awaiting their publish): 19,873 calls for 20,000
 * messages, against 697-1,181 with setImmediate. Kept for comparison.
 */
export const afterMicrotasks: TurnScheduler = (flush) => {
  queueMicrotask(flush);
};

export interface TurnProducerOptions {
  send: SendTopic;
  /** A turn with more messages than this is sent in parts of this size, the first at once. */
  maxMessages?: number;
  schedule?: TurnScheduler;
}

/** Enough to amortise a call over many records; small enough that one part never holds the loop for long. */
export const DEFAULT_TURN_MAX_MESSAGES = 500;

interface Waiting {
  message: OutgoingMessage;
  /** Aborted before the turn's send: the message is dropped, never handed to the client. */
  signal?: AbortSignal | undefined;
  resolve(delivery: Delivery): void;
  reject(error: unknown): void;
}

export class TurnProducer {
  private readonly send: SendTopic;
  private readonly maxMessages: number;
  private readonly schedule: TurnScheduler;
  private byTopic = new Map<string, Waiting[]>();
  private queued = 0;
  private scheduled = false;
  /** Calls made to `send`, for tests and benchmarks. */
  sends = 0;

  constructor(options: TurnProducerOptions) {
    this.send = options.send;
    this.maxMessages = Math.max(1, options.maxMessages ?? DEFAULT_TURN_MAX_MESSAGES);
    this.schedule = options.schedule ?? afterTurn;
  }

  /**
   * Queues the message for this turn's send. With a `signal` that aborts before
   * the send (its record's partition was taken back meanwhile), the message is
   * dropped and the promise rejects with the abort reason.
   */
  publish(topic: string, message: OutgoingMessage, signal?: AbortSignal): Promise<Delivery> {
    return new Promise<Delivery>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let waiting = this.byTopic.get(topic);
      if (!waiting) {
        waiting = [];
        this.byTopic.set(topic, waiting);
      }
      waiting.push({ message, signal, resolve, reject });
      this.queued += 1;
      if (this.queued >= this.maxMessages) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Sends what is queued now; call it before disconnecting the producer. */
  flush(): void {
    if (this.queued === 0) return;
    const byTopic = this.byTopic;
    this.byTopic = new Map();
    this.queued = 0;
    for (const [topic, waiting] of byTopic) this.sendTopic(topic, waiting);
  }

  private sendTopic(topic: string, queued: Waiting[]): void {
    // The last look before the client has it: after this, the message is in flight.
    const waiting = queued.filter((each) => {
      if (!each.signal?.aborted) return true;
      each.reject(each.signal.reason);
      return false;
    });
    if (waiting.length === 0) return;
    this.sends += 1;
    let results: Array<Promise<Delivery>>;
    try {
      results = this.send(
        topic,
        waiting.map((each) => each.message),
      );
    } catch (error) {
      for (const each of waiting) each.reject(error);
      return;
    }
    waiting.forEach((each, index) => {
      const result = results[index];
      if (result) result.then(each.resolve, each.reject);
      else each.reject(new Error(`Kafka returned no delivery report for a message to ${topic}`));
    });
  }
}

/** The connected KafkaJS-style producer's native client, as far as producing goes. */
export interface NativeProducer {
  produce(
    topic: string,
    partition: number,
    value: Buffer | null,
    key: string | Buffer,
    timestamp: number,
    opaque: { resolve(metadata: RecordMetadata): void; reject(error: unknown): void },
    headers: Array<Record<string, string | Buffer>> | null,
  ): unknown;
}

/** What the KafkaJS-style producer's delivery-report handler resolves an opaque with. */
export interface RecordMetadata {
  topicName: string;
  partition: number;
  baseOffset?: number | string | null;
}

/**
 * A `SendTopic` over the native client of a connected KafkaJS-style producer
 * (`producer._getInternalClient()`): the same calls its `send` makes, per message.
 */
export function produceEach(client: NativeProducer): SendTopic {
  return (topic, messages) =>
    messages.map(
      (message) =>
        new Promise<Delivery>((resolve, reject) => {
          const opaque = {
            resolve: (metadata: RecordMetadata) =>
              resolve({ topic, partition: metadata.partition, offset: String(metadata.baseOffset ?? '-1') }),
            reject,
          };
          try {
            // partition -1: librdkafka's partitioner picks; timestamp 0: the time of produce.
            client.produce(topic, -1, message.value, message.key, 0, opaque, rdkafkaHeaders(message.headers));
          } catch (error) {
            // A full local queue, say: this message only, as in `send`.
            reject(error);
          }
        }),
    );
}

function rdkafkaHeaders(headers: OutgoingHeaders | undefined): Array<Record<string, string | Buffer>> | null {
  if (!headers) return null;
  return Object.entries(headers).map(([name, value]) => ({ [name]: value }));
}
