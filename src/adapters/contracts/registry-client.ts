import type { Client, ClientConfig } from '@confluentinc/schemaregistry';
import { configError } from '../../errors.js';

/** A registry that hangs would hold a record (or a role's start) forever: a request gives up after this. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The client settings of the [schema-registry] section, as Confluent's clients
 * name them: `url` (comma-separated for several) and `basic.auth.user.info`
 * (`<key>:<secret>`, Confluent Cloud). Checked without loading the package, so
 * a section with no url stops the shop at start, whatever it would read later.
 */
export function registryClientConfig(section: Record<string, string>, retries = 2): ClientConfig {
  const baseURLs = (section.url ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (baseURLs.length === 0) {
    throw configError(
      '[schema-registry] has no url: set url = https://<your Schema Registry endpoint>, or remove the section.',
    );
  }
  const userInfo = section['basic.auth.user.info'];
  return {
    baseURLs,
    ...(userInfo ? { basicAuthCredentials: { credentialsSource: 'USER_INFO', userInfo } } : {}),
    cacheCapacity: 1000,
    maxRetries: retries,
    createAxiosDefaults: { timeout: REQUEST_TIMEOUT_MS },
  };
}

/**
 * The one builder of a Schema Registry client, imported when a shop first
 * needs the registry, never at start-up of a shop with contracts off. Only the
 * client's own module: the package's index also loads its serdes, rule
 * executors and cloud KMS SDKs, about 78 MB of RSS against the client's 27 MB
 * (the package has no "exports" map, so its dist files are its API too).
 */
export async function createRegistryClient(section: Record<string, string>, retries?: number): Promise<Client> {
  const config = registryClientConfig(section, retries);
  const { SchemaRegistryClient } = await import('@confluentinc/schemaregistry/dist/schemaregistry-client.js');
  return new SchemaRegistryClient(config);
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_NETWORK',
]);

/**
 * The registry is away, busy or failing (a dropped connection, a timeout,
 * HTTP 5xx or 429), as opposed to an answer (a refusal, no such schema): it
 * may come back, so the work waits for it.
 */
export function registryUnreachable(error: unknown): boolean {
  const { status, code } = (error ?? {}) as { status?: unknown; code?: unknown };
  if (typeof status === 'number') return status >= 500 || status === 429 || status === 408;
  return typeof code === 'string' && UNREACHABLE_CODES.has(code);
}

/** The registry's answer "no such subject, version or schema". */
export function isNotFound(error: unknown): boolean {
  return (error as { status?: unknown } | undefined)?.status === 404;
}
