import type { RoleName, Settings } from '../../config/settings.js';
import { isComplete, statusLabel, statusName } from '../../domain/statuses.js';
import { assemblingSeconds, bakingSeconds, deliverySeconds, type Recipe } from '../../domain/timings.js';
import type { LogLine } from '../logs/order-log-line.js';
import type { OrderEvent, OrderView } from '../sqlite/orders-store.js';

/** The services of the flow diagram, in the order a pizza meets them. */
export const FLOW_SERVICES = ['serve', 'assemble', 'bake', 'deliver', 'status'] as const satisfies readonly RoleName[];
export type FlowService = (typeof FLOW_SERVICES)[number];

export function isFlowService(value: string): value is FlowService {
  return (FLOW_SERVICES as readonly string[]).includes(value);
}

/**
 * Where an order is: still being placed by the web app, the kitchen service
 * working on it now, or how it ended.
 */
export type Stage = 'placing' | 'assemble' | 'bake' | 'deliver' | 'delivered' | 'trouble';

/** What a customer reads while the web app has not yet heard that the order reached the kitchen. */
export const PLACING_LABEL = 'Placing your order…';

export function stageOf(settings: Settings, status: number): Stage {
  switch (statusName(settings.statuses, status)) {
    case 'order_placed':
      return 'assemble';
    case 'pizza_assembled':
      return 'bake';
    case 'pizza_baked':
    case 'pending':
      return 'deliver';
    case 'delivered':
      return 'delivered';
    default:
      return 'trouble';
  }
}

/** What the browser needs to show an order's status; sent in pages and over SSE. */
export interface StatusView {
  orderId: string;
  status: number;
  label: string;
  stage: Stage;
  complete: boolean;
  tone: 'progress' | 'done' | 'warn';
}

export function statusView(settings: Settings, orderId: string, status: number): StatusView {
  const stage = stageOf(settings, status);
  const complete = isComplete(settings.statuses, status);
  return {
    orderId,
    status,
    label: statusLabel(settings.statuses, status),
    stage,
    complete,
    tone: stage === 'delivered' ? 'done' : stage === 'trouble' ? 'warn' : 'progress',
  };
}

/** An order's status as its page shows it: `placing` until the publish is confirmed, never a wrong label. */
export function orderStatusView(
  settings: Settings,
  order: Pick<OrderView, 'orderId' | 'status' | 'placement'>,
): StatusView {
  if (order.placement === 'placed') return statusView(settings, order.orderId, order.status);
  return {
    orderId: order.orderId,
    status: order.status,
    label: PLACING_LABEL,
    stage: 'placing',
    complete: false,
    tone: 'progress',
  };
}

export interface OrderPage extends StatusView {
  username: string;
  sauce: string;
  cheese: string;
  mainTopping: string;
  extraToppings: string[];
  deliveryNote: string | undefined;
  createdAt: string;
}

export function orderPage(settings: Settings, order: OrderView): OrderPage {
  return {
    ...orderStatusView(settings, order),
    username: order.username,
    sauce: order.sauce,
    cheese: order.cheese,
    mainTopping: order.mainTopping,
    extraToppings: order.extraToppings,
    deliveryNote: order.deliveryNote,
    createdAt: new Date(order.createdAt).toISOString(),
  };
}

export interface TimelineRow {
  topic: string;
  partition: number;
  offset: string;
  status: number;
  label: string;
  time: string;
}

export function timelineRows(settings: Settings, events: OrderEvent[]): TimelineRow[] {
  return events.map((event) => ({
    topic: event.topic,
    partition: event.partition,
    offset: event.offset,
    status: event.status,
    label: statusLabel(settings.statuses, event.status),
    time: new Date(event.eventTimestamp).toISOString(),
  }));
}

export interface LogRow {
  time: string;
  /** `info`, `warn` or `error`: how the line is styled, never shown as a word. */
  level: 'info' | 'warn' | 'error';
  /** A short sentence for the customer; never a field name or a server's words. */
  msg: string;
}

/** How a line reads to a customer; `undefined` leaves the line out. */
type Sentence = (line: LogLine, wait: (seconds: unknown) => string) => string | undefined;

/**
 * The roles' messages a customer can use, by role and message. Lines not here
 * (debug-ish bookkeeping, a role's own start-up) are left out, except warnings
 * and errors, which get a plain sentence.
 */
const SENTENCES: Record<string, Record<string, Sentence>> = {
  serve: {
    'order placed, pizza-ordered published': () => 'We took your order and passed it to the kitchen.',
    'order confirmed by the status view: it is on pizza-ordered': () => 'Your order reached the kitchen.',
    'could not publish the order; it was not placed': () =>
      'The kitchen could not be reached: the order was not placed.',
    'could not publish the order; it stays being placed until the next try': () =>
      'The kitchen could not be reached yet; we keep trying.',
  },
  assemble: {
    'assembling the pizza': (line, wait) => `Assembling your pizza: ${wait(line.assemblingSeconds)}.`,
    'pizza assembled, off to the oven': () => 'Pizza assembled, off to the oven.',
  },
  bake: {
    'baking the pizza': (line, wait) => `Baking your pizza: ${wait(line.bakingSeconds)}.`,
    'pizza baked, ready for delivery': () => 'Baked, ready for delivery.',
  },
  deliver: {
    'early warning: order noted, waiting for the pizza': (line) =>
      `The driver knows your order is coming.${noteForTheDriver(line)}`,
    'pizza baked before its order reached delivery: pending until the order arrives': () =>
      'Your pizza was ready before the driver had your address; checking your order.',
    'out for delivery': (line, wait) => `On the way to you: ${wait(line.deliverySeconds)}.${noteForTheDriver(line)}`,
    'pizza delivered': () => 'Delivered. Enjoy your pizza!',
  },
  status: {
    'older or duplicate status ignored': () => undefined,
  },
};

/** Deliver's line that takes an order in carries the customer's note, when there is one. */
function noteForTheDriver(line: LogLine): string {
  return typeof line.deliveryNote === 'string' ? ` Note for the driver: ${line.deliveryNote}` : '';
}

const STATUS_PREFIX = 'status: ';

/** A wait in the shop's time: the recipe's seconds times the time scale, rounded for people. */
export function scaledWait(recipeSeconds: unknown, timeScale: number): string {
  if (typeof recipeSeconds !== 'number' || !Number.isFinite(recipeSeconds) || recipeSeconds < 0)
    return 'a little while';
  const seconds = recipeSeconds * timeScale;
  if (seconds < 1) return 'a moment';
  if (seconds < 90) return `about ${Math.round(seconds)} s`;
  return `about ${Math.round(seconds / 60)} min`;
}

function sentenceFor(line: LogLine, timeScale: number): string | undefined {
  if (line.level < 30) return undefined;
  const wait = (seconds: unknown) => scaledWait(seconds, timeScale);
  const known = SENTENCES[line.role]?.[String(line.msg)];
  if (known) return known(line, wait);
  const msg = String(line.msg ?? '');
  // The status role names the status it applied, in the catalog's customer words.
  if (line.role === 'status' && msg.startsWith(STATUS_PREFIX)) return `${msg.slice(STATUS_PREFIX.length)}.`;
  if (line.role === 'status' && msg.startsWith('watchdog:')) return 'No progress for a while: we are looking into it.';
  if (line.level >= 50) return 'Something went wrong at this step; the shop has been told.';
  if (line.level >= 40) return 'A hiccup at this step; trying again.';
  return undefined;
}

/** The lines a customer has use for, as short sentences in the shop's time. */
export function logRows(lines: LogLine[], options: { timeScale: number }): LogRow[] {
  return lines.flatMap((line) => {
    const msg = sentenceFor(line, options.timeScale);
    if (msg === undefined) return [];
    const time = new Date(typeof line.time === 'number' ? line.time : Date.parse(String(line.time))).toISOString();
    return [{ time, level: line.level >= 50 ? 'error' : line.level >= 40 ? 'warn' : 'info', msg } satisfies LogRow];
  });
}

/** How long the kitchen and the driver should take, from the recipe's timings at the shop's speed. */
export interface Estimate {
  /** Scaled seconds, for the page's own countdown. */
  totalSeconds: number;
  text: string;
  parts: string;
}

export function estimate(settings: Settings, order: Pick<OrderView, keyof Recipe | 'customerId'>): Estimate {
  const { timeScale } = settings.shop;
  const assembling = assemblingSeconds(order);
  const baking = bakingSeconds(order);
  // Factor 1: the usual case; a pizza baked before its order reached delivery takes longer, and says so in its lines.
  const delivery = /^[0-9a-f]+$/i.test(order.customerId) ? deliverySeconds(order.customerId, 1) : 0;
  const total = assembling + baking + delivery;
  return {
    totalSeconds: total * timeScale,
    text: scaledWait(total, timeScale),
    parts: `assembling ${scaledWait(assembling, timeScale)}, baking ${scaledWait(baking, timeScale)}, delivery ${scaledWait(delivery, timeScale)}`,
  };
}

/** How long until the door, counting the orders the kitchen has before this one. */
export interface ExpectedWait {
  /** Orders waiting for the kitchen that came before this one. */
  ahead: number;
  text: string;
}

/** The wait for a place in the kitchen (real seconds) plus the order's own time there and on the road. */
export function expectedWait(queue: { ahead: number; seconds: number }, own: Estimate): ExpectedWait {
  const seconds = queue.seconds + own.totalSeconds;
  // Real seconds already: the wait's words at scale 1.
  return { ahead: queue.ahead, text: scaledWait(seconds, 1) };
}

/** The diagram's caption: what the arrows are on the bus in use. */
export function flowCaption(busKind: 'embedded' | 'kafka'): string {
  return busKind === 'kafka'
    ? 'Each arrow is a Kafka topic.'
    : 'Each arrow stands for a Kafka topic; this shop runs on an in-process stand-in for the topics, with no broker.';
}
