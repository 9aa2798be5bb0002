/** One part of a running shop to stop, named for the error that says it did not. */
export type StopStep = readonly [what: string, stop: () => Promise<unknown> | undefined];

/**
 * Stops every part in the order given, whatever the ones before did: one part
 * failing to stop must not keep the others (or the bus) running. Then throws
 * what failed: the error itself when one part failed, an AggregateError that
 * names them all when several did.
 */
export async function stopEach(steps: readonly StopStep[]): Promise<void> {
  const failures: Array<{ what: string; error: unknown }> = [];
  for (const [what, stop] of steps) {
    try {
      await stop();
    } catch (error) {
      failures.push({ what, error });
    }
  }
  const [only, ...more] = failures;
  if (!only) return;
  if (more.length === 0) throw only.error;
  throw new AggregateError(
    failures.map((failure) => failure.error),
    `${failures.length} parts of the shop did not stop cleanly: ${failures.map((failure) => failure.what).join(', ')}`,
  );
}
