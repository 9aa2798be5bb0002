/**
 * The one place pizza listens to the process's signals. A command registers
 * them once, before it starts anything; close-with-grace then runs the
 * command's stop on the first SIGINT or SIGTERM (or an uncaught error) and
 * exits: 0 after a clean stop, 1 after an error, a second signal, or a stop
 * that outlasts the timeout.
 */
import closeWithGrace from 'close-with-grace';

// A crash in native code (librdkafka, SQLite) must stay a crash: JS may never run again to stop.
const NATIVE_FAULTS: closeWithGrace.AllEvents[] = ['SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV'];

/** Said on stderr too: the console logger may be at `fatal` or `silent`, and a failure must never exit without a word. */
function sayOnStderr(message: string, err?: unknown): void {
  const detail = err instanceof Error ? (err.stack ?? err.message) : err === undefined ? '' : String(err);
  process.stderr.write(`pizza: ${message}${detail ? `\n${detail}` : ''}\n`);
}

/** Where the stop's own messages go: the command's logger. */
export interface StopLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface StopReason {
  /** The signal that asked for the stop, if one did. */
  signal?: string | undefined;
  /** The uncaught error that forced it, if one did. */
  err?: unknown;
}

export interface GracefulStop {
  /** Aborted when the stop begins: loops and waits watching it end. */
  readonly signal: AbortSignal;
  /** Stops listening, for a command that ended by itself or failed before it ran. */
  uninstall(): void;
}

export interface GracefulStopOptions {
  log: StopLog;
  /** A stop that takes longer is cut short (`[pizza-shop] stop_timeout_seconds`). */
  timeoutMs: number;
  /** Called just before the process exits, for buffered log lines. */
  beforeExit?: () => void;
}

/**
 * Registers the stop signals and runs `stop` on the first; `stop` must be
 * idempotent and may be called before everything it stops has started.
 */
export function gracefulStop(options: GracefulStopOptions, stop: (reason: StopReason) => Promise<void>): GracefulStop {
  const { log, timeoutMs, beforeExit = () => {} } = options;
  const aborter = new AbortController();
  const handle = closeWithGrace(
    {
      delay: timeoutMs,
      // SIGHUP, SIGQUIT and SIGUSR2 stop gracefully too: with no listener they would kill the
      // process outright (Node resets what nohup ignores, so even a shop under nohup dies of SIGHUP).
      skip: NATIVE_FAULTS,
      logger: {
        error: (err: unknown) => {
          log.error({ err }, 'the stop failed');
          beforeExit();
          sayOnStderr('the stop failed', err);
        },
      },
      onSecondSignal: (signal) => {
        log.error({ signal }, `second ${signal}: exiting without finishing the stop`);
        beforeExit();
      },
      onSecondError: (err) => {
        log.error({ err }, 'another uncaught error while stopping: exiting');
        beforeExit();
      },
      onTimeout: (delay) => {
        log.error({ timeoutMs: delay }, `the stop took longer than ${delay / 1000} s: exiting without finishing it`);
        beforeExit();
      },
    },
    async ({ signal, err }) => {
      if (err) {
        log.error({ err }, 'uncaught error: stopping');
        sayOnStderr('uncaught error: stopping', err);
      } else if (signal) log.info({ signal }, `${signal}: stopping`);
      aborter.abort();
      try {
        await stop({ signal, err });
      } finally {
        beforeExit();
      }
    },
  );
  return { signal: aborter.signal, uninstall: () => handle.uninstall() };
}
