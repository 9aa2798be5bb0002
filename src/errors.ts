/**
 * Every error the shop raises on purpose carries a code from one closed set
 * and a retry verdict, so whoever catches it decides from the error itself
 * (retry, dead-letter, tell the user), not from its class or its message.
 * Errors from libraries keep their own shapes: the Kafka client's are read
 * by `adapters/kafka/errors.ts`.
 */
const CODES = {
  /** A config file, option or variable a user must fix. */
  CONFIG: { canRetry: false, userFacing: true },
  /** A line of an ini file that is not ini; config loading turns it into CONFIG with the file's name. */
  INI_SYNTAX: { canRetry: false, userFacing: true },
  /** The cluster cannot be reached: it may come back. */
  KAFKA_UNREACHABLE: { canRetry: true, userFacing: true },
  /** The cluster refused the credentials or the TLS settings. */
  KAFKA_AUTH: { canRetry: false, userFacing: true },
  /** Topics the roles need are not there (or could not be created). */
  TOPICS_MISSING: { canRetry: false, userFacing: true },
  /** Topics just created that the cluster's metadata does not show yet: they will. */
  TOPICS_NOT_READY: { canRetry: true, userFacing: true },
  /** Schema Registry did not answer (an outage, a dropped connection): the record is read again. */
  SCHEMA_REGISTRY_UNAVAILABLE: { canRetry: true, userFacing: false },
  /** Schema Registry refused a contract (incompatible with the subject's versions, or invalid): the role cannot write it. */
  SCHEMA_REFUSED: { canRetry: false, userFacing: true },
  /** A record that breaks the domain's rules: no retry makes it valid. */
  INVALID_EVENT: { canRetry: false, userFacing: false },
  /** A second order under a known id from another customer: two orders must never merge. */
  ORDER_ID_COLLISION: { canRetry: false, userFacing: false },
  /** Work stopped because its order was cancelled. */
  ORDER_CANCELLED: { canRetry: false, userFacing: false },
  /** Work that no retry can fix (an output the broker will never accept, say). */
  PERMANENT: { canRetry: false, userFacing: false },
  /** A SQLite file that cannot grow (a full disk, or its size cap): writes wait until there is room. */
  STORE_FULL: { canRetry: true, userFacing: false },
  /** A client asked too often; it may ask again after a while. */
  TOO_MANY_REQUESTS: { canRetry: true, userFacing: true },
} as const satisfies Record<string, { canRetry: boolean; userFacing: boolean }>;

export type PizzaErrorCode = keyof typeof CODES;

export const PIZZA_ERROR_CODES = Object.keys(CODES) as readonly PizzaErrorCode[];

/** Exit codes, so scripts and CI can tell a user mistake from a failed check. */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2 } as const;

export interface PizzaErrorOptions {
  cause?: unknown;
  /** A user mistake: print the message alone, no stack trace. By default the code's. */
  userFacing?: boolean;
  exitCode?: number;
}

export class PizzaError extends Error {
  readonly code: PizzaErrorCode;
  /** Whether doing the same thing again may succeed: decided by the code, never by the message. */
  readonly canRetry: boolean;
  /** A user mistake: print the message alone, no stack trace. */
  readonly userFacing: boolean;
  readonly exitCode: number;

  constructor(code: PizzaErrorCode, message: string, options: PizzaErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'PizzaError';
    this.code = code;
    this.canRetry = CODES[code].canRetry;
    this.userFacing = options.userFacing ?? CODES[code].userFacing;
    this.exitCode = options.exitCode ?? (code === 'CONFIG' ? EXIT_CODES.usage : EXIT_CODES.failed);
  }

  /** True for a PizzaError with one of these codes. */
  static is(error: unknown, ...codes: PizzaErrorCode[]): error is PizzaError {
    return error instanceof PizzaError && (codes.length === 0 || codes.includes(error.code));
  }
}

export function configError(message: string, cause?: unknown): PizzaError {
  return new PizzaError('CONFIG', message, { cause, exitCode: EXIT_CODES.usage });
}
