import pkg, { type KafkaJS as KafkaJSTypes } from '@confluentinc/kafka-javascript';
import type { Logger } from 'pino';
import { PizzaError } from '../../errors.js';
import { ClientLogFilter, clientLogger } from './client-log-filter.js';
import { BrokerWatch } from './connectivity.js';

// The package is CommonJS: its namespaces come from the default export under ESM.
const { KafkaJS } = pkg;

export type KafkaAdmin = KafkaJSTypes.Admin;
export type KafkaConsumer = KafkaJSTypes.Consumer;
export type KafkaProducer = KafkaJSTypes.Producer;
export type LibrdkafkaConfig = Record<string, string | number | boolean | ((...args: never[]) => unknown)>;

/** How long a first contact with the cluster may take before the user is told why it failed. */
export const CONNECT_TIMEOUT_MS = 15_000;
/** How long an admin request (list, describe, create topics) may take. */
export const ADMIN_TIMEOUT_MS = 15_000;

/**
 * One KafkaJS-style client factory per process. Every option is a librdkafka
 * property (outside the `kafkaJS` block), so the `[kafka]` section of the
 * config file applies as it is; the block only carries our logger.
 */
export class KafkaClients {
  /** The last error librdkafka logged, which says *why* a connection failed (refused, SASL, TLS). */
  lastBrokerError: string | undefined;
  /** Whether the cluster can be reached; quiets librdkafka during an outage. */
  readonly watch: BrokerWatch;
  /** Folds what librdkafka repeats outside an outage (and before one is confirmed). */
  private readonly filter: ClientLogFilter;
  private readonly kafka: KafkaJSTypes.Kafka;

  constructor(
    readonly properties: Record<string, string>,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    this.watch = new BrokerWatch({ log, now });
    this.filter = new ClientLogFilter({ now });
    this.kafka = new KafkaJS.Kafka({
      // `brokers` is typed as required, but bootstrap.servers from [kafka] takes its place.
      kafkaJS: {
        logger: this.logger(),
        logLevel: log.isLevelEnabled('debug') ? KafkaJS.logLevel.INFO : KafkaJS.logLevel.WARN,
      } as KafkaJSTypes.KafkaConfig,
    });
  }

  get bootstrapServers(): string {
    return this.properties['bootstrap.servers'] ?? '(no bootstrap.servers)';
  }

  /** Our defaults first, then the user's `[kafka]` properties unchanged, then what correctness needs. */
  config(defaults: LibrdkafkaConfig, required: LibrdkafkaConfig = {}): LibrdkafkaConfig {
    return { ...defaults, ...this.properties, ...required };
  }

  admin(): KafkaAdmin {
    return this.kafka.admin(this.config({ 'client.id': 'pizza-admin' }) as never);
  }

  producer(config: LibrdkafkaConfig): KafkaProducer {
    return this.kafka.producer(config as never);
  }

  consumer(config: LibrdkafkaConfig): KafkaConsumer {
    return this.kafka.consumer(config as never);
  }

  /**
   * Asks the cluster for its topics, which proves the address, TLS and
   * credentials all work; turns a failure into a message a user can act on.
   */
  async probe(admin: KafkaAdmin): Promise<string[]> {
    try {
      return await admin.listTopics({ timeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      throw this.connectionError(error);
    }
  }

  connectionError(error: unknown): PizzaError {
    const detail = this.lastBrokerError ?? (error instanceof Error ? error.message : String(error));
    const auth = /SASL|authenticat|SSL|certificate|handshake/i.test(detail);
    if (auth) {
      return new PizzaError(
        'KAFKA_AUTH',
        `Kafka at ${this.bootstrapServers} refused the connection's security settings: ${cleanDetail(detail)}. Check security.protocol, sasl.mechanisms, sasl.username and sasl.password (the cluster API key and secret) in the [kafka] section.`,
        { cause: error },
      );
    }
    return new PizzaError(
      'KAFKA_UNREACHABLE',
      `Kafka is not reachable at ${this.bootstrapServers} (${cleanDetail(detail)}). Check bootstrap.servers in the [kafka] section and that the broker is running.`,
      { cause: error },
    );
  }

  private logger(): KafkaJSTypes.Logger {
    return clientLogger({
      log: this.log.child({ component: 'librdkafka' }),
      watch: this.watch,
      filter: this.filter,
      // A record our consumer hands back on purpose (its partition moved) is seeked back, not an error.
      ignore: (message) => message.includes(HANDED_BACK),
      onError: (message) => {
        this.lastBrokerError = message;
      },
    });
  }
}

/** Marks the error a consumer throws to make the client read a record again. */
export const HANDED_BACK = 'will be read again';

/** librdkafka prefixes messages with its thread and broker names; the user needs the reason only. */
function cleanDetail(detail: string): string {
  return detail
    .replace(/^\[thrd:[^\]]*\]:\s*/, '')
    .replace(/^\S+\/bootstrap:\s*/, '')
    .replace(/\s*\(after \d+ms in state [^)]*\)/, '');
}

export interface BrokerAddress {
  id: number;
  /** The host name the broker advertises, which a proxy or private link in front of it does not change. */
  host: string;
  port: number;
}

/** The cluster's brokers, from a metadata request (the client has no describe-cluster call). */
export async function clusterBrokers(clients: KafkaClients, timeoutMs = CONNECT_TIMEOUT_MS): Promise<BrokerAddress[]> {
  const producer = new pkg.Producer(clients.config({}) as never, {});
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: timeoutMs }, (err) => (err ? reject(err) : resolve())),
  );
  try {
    const metadata = await new Promise<{ brokers: BrokerAddress[] }>((resolve, reject) =>
      producer.getMetadata({ timeout: timeoutMs }, (err, data) => (err ? reject(err) : resolve(data))),
    );
    return metadata.brokers.map(({ id, host, port }) => ({ id, host, port }));
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
