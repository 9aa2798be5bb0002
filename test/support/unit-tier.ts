/**
 * Setup file of the unit project (vitest.config.ts). A unit test starts no process:
 * no broker, no JVM, no browser, no bin/pizza. Here, trying to fails at once and
 * says where the test belongs, instead of passing in a full run, where the
 * integration tier's broker is up, and failing obscurely in `npm run test:unit`.
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

const STARTERS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;

for (const name of STARTERS) {
  Object.assign(childProcess, {
    [name]: () => {
      throw new Error(
        `child_process.${name}() in a unit test: a test that starts a process (a broker, a JVM, a browser, bin/pizza) belongs in the integration tier; add its file to EMBEDDED (no broker) or KAFKA in vitest.config.ts`,
      );
    },
  });
}
// `import { spawn } from 'node:child_process'` reads the ES module's copy of each export.
syncBuiltinESMExports();
