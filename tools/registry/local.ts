/**
 * Runs a local Schema Registry (Apicurio Registry, Confluent-compatible API) for trying
 * contracts by hand, beside `npm run kafka`:
 *
 *   npx tsx tools/registry/local.ts [--port 8081]
 *
 * Appends (or rewrites) a `[schema-registry]` section in `<repo>/local.ini` and runs until
 * Ctrl-C. Its storage is in memory: every run starts with no subjects.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../jvm.js';
import { startSchemaRegistry } from './apicurio.js';

const iniPath = join(repoRoot, 'local.ini');
const SECTION_NOTE = '# Written by tools/registry/local.ts; valid only while it runs (storage is in memory).';

function requestedPort(): number | undefined {
  const { values } = parseArgs({ options: { port: { type: 'string' } } });
  if (values.port === undefined) return undefined;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`--port takes a port number, not ${values.port}`);
  return port;
}

/** local.ini with its `[schema-registry]` section (and the note above it) replaced by one for `url`. */
function withRegistrySection(ini: string, url: string): string {
  const kept: string[] = [];
  let inSection = false;
  for (const line of ini.split('\n')) {
    const header = /^\s*\[([^\]]+)\]/.exec(line);
    if (header) inSection = header[1]?.trim() === 'schema-registry';
    if (!inSection && line !== SECTION_NOTE) kept.push(line);
  }
  const head = kept.join('\n').trimEnd();
  return `${head ? `${head}\n\n` : ''}${SECTION_NOTE}\n[schema-registry]\nurl = ${url}\n`;
}

async function main(): Promise<void> {
  const port = requestedPort();
  console.log('Starting a local Schema Registry (the first run downloads Apicurio Registry with Maven)...');
  const registry = await startSchemaRegistry({ port, log: (line) => console.log(line) });
  const ini = existsSync(iniPath) ? await readFile(iniPath, 'utf8') : '';
  await writeFile(iniPath, withRegistrySection(ini, registry.url));

  const shown = relative(process.cwd(), iniPath) || iniPath;
  console.log(`
Schema Registry is running (Apicurio Registry, Confluent-compatible API):
[schema-registry]
url = ${registry.url}

  written to: ${iniPath}

Use it from another terminal (with npm run kafka for the broker):
  pizza schemas:check --config ${shown}
  add "value_format = avro" to [pizza-shop] in ${shown}, then: pizza all --config ${shown}

Press Ctrl-C to stop the registry.`);

  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    // Under tsx a terminal's Ctrl-C arrives twice (from the terminal and relayed by tsx).
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\n${signal}: stopping the Schema Registry...`);
    registry.stop().then(
      () => {
        console.log('Schema Registry stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('Could not stop the Schema Registry cleanly:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  // Ctrl-C in a terminal reaches the JVM too, so an exit while shutting down is expected.
  const code = await registry.exited;
  if (!shuttingDown) {
    console.error(
      `${registry.outputTail()}\n\nThe Schema Registry exited on its own (code ${code}); above is its output.`,
    );
    await registry.stop();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
