/**
 * Downloads and unpacks the Schema Registry distribution into the cache, without starting it:
 * `scripts/install.sh --test` runs this so the test suite finds it there.
 *
 *   npx tsx tools/registry/fetch.ts
 */
import { APICURIO_VERSION, ensureApicurio } from './apicurio.js';

ensureApicurio().then(
  (appDir) => console.log(`install: Apicurio Registry ${APICURIO_VERSION} in ${appDir}`),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
