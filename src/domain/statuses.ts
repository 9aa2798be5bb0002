/** The status names the workshop's settings know, in its order. */
export const STATUS_NAMES = [
  'stuck',
  'order_placed',
  'pending',
  'pizza_assembled',
  'pizza_baked',
  'unknown',
  'something_wrong',
  'cancelled',
  'delivered',
] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

/** The largest status id: ids travel as Avro ints (32 bits) under the contracts. */
export const STATUS_ID_MAX = 2 ** 31 - 1;

export interface StatusCatalog {
  ids: Record<StatusName, number>;
  labels: Record<StatusName, string>;
  /** Shown for a status id the catalog does not know. */
  unknownStatusLabel: string;
  /** Ids of the statuses after which an order never changes again. */
  completedIds: readonly number[];
}

export function isStatusName(name: string): name is StatusName {
  return (STATUS_NAMES as readonly string[]).includes(name);
}

export function statusLabel(catalog: StatusCatalog, statusId: number): string {
  const name = statusName(catalog, statusId);
  return name ? catalog.labels[name] : catalog.unknownStatusLabel;
}

export function statusName(catalog: StatusCatalog, statusId: number): StatusName | undefined {
  return STATUS_NAMES.find((name) => catalog.ids[name] === statusId);
}

export function isComplete(catalog: StatusCatalog, statusId: number): boolean {
  return catalog.completedIds.includes(statusId);
}
