import type { RoleName, Settings } from '../../config/settings.js';
import { isComplete, statusLabel, statusName } from '../../domain/statuses.js';
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
  level: string;
  msg: string;
  /** The line's other fields, as `key=value` text. */
  details: string;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HIDDEN_FIELDS = new Set(['time', 'level', 'msg', 'role', 'orderId', 'pid', 'hostname']);

/** Customers see what went wrong, not the server's file paths in a stack trace. */
function withoutStack(value: unknown): unknown {
  if (!value || typeof value !== 'object' || !('stack' in value)) return value;
  const { stack: _stack, ...rest } = value as Record<string, unknown>;
  return rest;
}

export function logRows(lines: LogLine[]): LogRow[] {
  return lines.map((line) => ({
    time: new Date(typeof line.time === 'number' ? line.time : Date.parse(String(line.time))).toISOString(),
    level: LEVELS[line.level] ?? String(line.level),
    msg: String(line.msg ?? ''),
    details: Object.entries(line)
      .filter(([key]) => !HIDDEN_FIELDS.has(key))
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(withoutStack(value))}`)
      .join(' '),
  }));
}
