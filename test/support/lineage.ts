import type { LineagePlanSettings } from '../../src/lineage/plan.js';

/** The workshop's topic and group names, as the lineage tests plan them. */
export const LINEAGE_SETTINGS: LineagePlanSettings = {
  topics: {
    ordered: 'pizza-ordered',
    assembled: 'pizza-assembled',
    baked: 'pizza-baked',
    delivered: 'pizza-delivered',
    pending: 'pizza-pending',
    status: 'pizza-status',
  },
  groupIds: { assemble: 'pizza_assemble', bake: 'pizza_bake', deliver: 'pizza_delivery', status: 'pizza_status' },
  shop: { statusSource: 'topics' },
};
