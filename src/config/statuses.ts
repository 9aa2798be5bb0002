/**
 * The `[status-id]` and `[status-label]` sections and `status_completed_when`:
 * the workshop's status ids, the words customers see, and when an order is
 * done. They become the {@link StatusCatalog} the domain works with.
 */
import { z } from 'zod';
import { isStatusName, STATUS_ID_MAX, STATUS_NAMES, type StatusCatalog, type StatusName } from '../domain/statuses.js';
import { count, list, listDefault, section, setting } from './setting.js';

/** The workshop's statuses: its ids, its labels, and what each means. */
const WORKSHOP_STATUSES: Record<StatusName, { id: number; label: string; meaning: string }> = {
  stuck: {
    id: 50,
    label: 'Your order is delayed, bear with us!',
    meaning: 'set by the watchdog when an order has not moved for status_invalid_timeout_minutes',
  },
  order_placed: { id: 100, label: 'Order received and being prepared', meaning: 'the web app took the order' },
  pending: {
    id: 150,
    label: 'We are checking your order',
    meaning: 'baked before delivery heard of the order; delivery waits for it',
  },
  pizza_assembled: { id: 200, label: 'Your pizza is in the oven', meaning: 'assembled, on its way to the oven' },
  pizza_baked: { id: 300, label: 'Your pizza is out for delivery', meaning: 'baked, on its way to the customer' },
  unknown: { id: 410, label: 'Oops! Unknown order', meaning: 'an order id the shop does not know' },
  something_wrong: {
    id: 430,
    label: 'Oops! Something went wrong, we will refund your order',
    meaning: 'the order cannot be made',
  },
  cancelled: { id: 499, label: 'Order has been cancelled', meaning: "cancelled at the customer's request" },
  delivered: { id: 999, label: 'Your pizza was delivered', meaning: 'delivered' },
};

const STATUS_ID_HINT = 'a whole number such as 100';

function statusId(status: StatusName) {
  const type = z.string().transform((value, ctx) => {
    // At most a 32-bit int: ids travel as Avro ints under the contracts.
    const parsed = count.max(STATUS_ID_MAX).safeParse(value);
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message: `[status-id] ${status} must be ${STATUS_ID_HINT}` });
    return z.NEVER;
  });
  const { id, meaning } = WORKSHOP_STATUSES[status];
  return setting(type, {
    default: String(id),
    description: `The id on the wire for ${status}: ${meaning}.`,
    hint: STATUS_ID_HINT,
  });
}

function statusLabel(status: StatusName) {
  return setting(z.string(), {
    default: WORKSHOP_STATUSES[status].label,
    description: `What a customer reads when the order is ${status}.`,
    hint: 'any text',
  });
}

function byStatus<T>(make: (status: StatusName) => T): Record<StatusName, T> {
  return Object.fromEntries(STATUS_NAMES.map((status) => [status, make(status)])) as Record<StatusName, T>;
}

export const statusIdSection = section(byStatus(statusId), {
  description: "The status ids on the wire, as the workshop's services send them.",
});

export const statusLabelSection = section(
  {
    ...byStatus(statusLabel),
    else: setting(z.string(), {
      default: 'Oops! Unknown status',
      description: 'What a customer reads for a status id that [status-id] does not name.',
      hint: 'any text',
    }),
  },
  { description: 'The words customers see for each status.' },
);

/** `[state-store-orders] status_completed_when`: the statuses after which an order never changes again. */
export const completedWhenSetting = setting(
  list.transform((names, ctx): StatusName[] => {
    const unknown = names.find((name) => !isStatusName(name));
    if (unknown === undefined) return names as StatusName[];
    ctx.addIssue({
      code: 'custom',
      message: `[state-store-orders] status_completed_when names an unknown status "${unknown}". Use names from [status-id]: ${STATUS_NAMES.join(', ')}`,
    });
    return z.NEVER;
  }),
  {
    default: listDefault(['delivered', 'cancelled']),
    description: 'The statuses after which an order never changes again: the watchdog leaves it alone.',
    hint: 'status names from [status-id], one per indented line',
  },
);

export function statusCatalog(
  ids: z.output<typeof statusIdSection>,
  labels: z.output<typeof statusLabelSection>,
  completedWhen: readonly StatusName[],
): StatusCatalog {
  const { else: unknownStatusLabel, ...known } = labels;
  return {
    ids,
    labels: known,
    unknownStatusLabel,
    completedIds: completedWhen.map((status) => ids[status]),
  };
}
