/** Codes for the errors a user can meet and act on. */
export type PizzaErrorCode = 'CONFIG' | 'KAFKA_UNREACHABLE' | 'KAFKA_AUTH' | 'TOPICS_MISSING';

/** Exit codes, so scripts and CI can tell a user mistake from a failed check. */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2 } as const;

export class PizzaError extends Error {
  readonly code: PizzaErrorCode;
  /** A user mistake: print the message alone, no stack trace. */
  readonly userFacing: boolean;
  readonly exitCode: number;

  constructor(
    code: PizzaErrorCode,
    message: string,
    options: { cause?: unknown; userFacing?: boolean; exitCode?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PizzaError';
    this.code = code;
    this.userFacing = options.userFacing ?? true;
    this.exitCode = options.exitCode ?? (code === 'CONFIG' ? EXIT_CODES.usage : EXIT_CODES.failed);
  }
}

export function configError(message: string, cause?: unknown): PizzaError {
  return new PizzaError('CONFIG', message, { cause, exitCode: EXIT_CODES.usage });
}
