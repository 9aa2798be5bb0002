/**
 * Lineage's sentences: what a stage's workers are called, what waits at it,
 * and why a stage is the slowest. The model carries them, so the page, the
 * JSON and the terminal table say the same thing.
 */

import { isStage, type LineageServiceName, type LineageStage } from './plan.js';

const WORKERS: Record<LineageStage, string> = {
  assemble: 'cooks',
  bake: 'ovens',
  deliver: 'drivers',
  status: 'view slots',
};
/** Assemble and bake take one event per order; deliver and status read several topics. */
const UNITS: Record<LineageStage, string> = { assemble: 'orders', bake: 'orders', deliver: 'events', status: 'events' };

/** The summary when no stage has anything waiting. */
export const NOTHING_WAITING = 'Nothing is waiting: every stage keeps up.';

/** "3 of 8 ovens busy", or why that is unknown; empty for a service that is not a stage. */
export function busyText(name: LineageServiceName, inFlight: number | null, capacity: number | null): string {
  if (!isStage(name)) return '';
  if (inFlight === null || capacity === null) return 'in flight not reported';
  return `${inFlight} of ${capacity} ${WORKERS[name]} busy`;
}

/** The parts of a service's view that the reason is worded from. */
interface StageFigures {
  name: LineageStage;
  waiting: number;
  instances: number | null;
  inFlight: number | null;
  capacity: number | null;
  busy: string;
}

/** Why a stage is the slowest, in words: "bake: 8 of 8 ovens busy, 37 orders waiting". */
export function bottleneckReason(service: StageFigures): string {
  const waiting = `${service.waiting} ${UNITS[service.name]} waiting`;
  if (service.instances === 0) return `${service.name}: no instance in its consumer group, ${waiting}`;
  if (service.inFlight === null || service.capacity === null) {
    return `${service.name}: ${waiting} (its instances report no in-flight work)`;
  }
  return `${service.name}: ${service.busy}, ${waiting}`;
}
