import { PizzaError } from '../errors.js';

/** The one place the CLI turns an error into words and an exit code. */
export function handleError(error: unknown): never {
  if (error instanceof PizzaError && error.userFacing) {
    process.stderr.write(`pizza: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(
    `pizza: unexpected error\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
