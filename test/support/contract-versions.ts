import { join } from 'node:path';
import { repoRoot } from './cli.js';

/**
 * The contracts as they shipped before `pizza-ordered` gained `delivery_note`
 * (issue 22, part 7): a whole contracts dir, for `[pizza-shop] contracts_dir`
 * of the "old" roles in the evolution tests.
 */
export const V1_CONTRACTS = join(repoRoot, 'test', 'fixtures', 'contracts', 'v1');

/** The contracts this build ships (v2: with the note). */
export const SHIPPED_CONTRACTS = join(repoRoot, 'contracts');
