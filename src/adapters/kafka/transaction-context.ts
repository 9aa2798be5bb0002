import { AsyncLocalStorage } from 'node:async_hooks';
import type { Delivery, OutgoingHeaders } from '../bus/bus.js';

export interface CapturedMessage {
  topic: string;
  key: string | Buffer;
  value: Buffer | null;
  headers?: OutgoingHeaders | undefined;
}

/**
 * In exactly-once mode a role's publishes while it works on a record are not
 * sent: they are kept with the record and sent later in the transaction that
 * also commits the record's offset. This carries "the record being worked on"
 * through the handler's awaits, so `publish` knows where to put them.
 */
const current = new AsyncLocalStorage<CapturedMessage[]>();

export function captureOutputs<T>(into: CapturedMessage[], work: () => Promise<T>): Promise<T> {
  return current.run(into, work);
}

/** Keeps the message for the current record's transaction; undefined outside one (send it now). */
export function captureIfTransactional(message: CapturedMessage): Delivery | undefined {
  const outputs = current.getStore();
  if (!outputs) return undefined;
  outputs.push(message);
  // Not on the broker yet: no partition or offset to report.
  return { topic: message.topic, partition: -1, offset: '-1' };
}

/**
 * At-least-once, what a record's outputs must pass before they are sent: the
 * work's partition must still be ours (see `group/ownership-guard.ts`). Carried
 * through the handler's awaits like the transaction's outputs.
 */
export interface OutputGate {
  /**
   * Undefined when the outputs may go now; else a promise that resolves when
   * they may, or rejects (with the abort reason) once the record's partition is taken back.
   */
  pass(): Promise<void> | undefined;
  /** Aborts when the record's partition is taken back: an output not yet handed to the client is dropped then. */
  readonly signal: AbortSignal;
}

const gate = new AsyncLocalStorage<OutputGate>();

export function behindGate<T>(outputGate: OutputGate, work: () => Promise<T>): Promise<T> {
  return gate.run(outputGate, work);
}

/** The gate of the record being worked on; undefined outside one. */
export function currentGate(): OutputGate | undefined {
  return gate.getStore();
}

/** Leaves the current record's transaction and gate, for work that must not wait for them (log lines, reports). */
export function outsideTransaction<T>(work: () => T): T {
  return current.exit(() => gate.exit(work));
}
