import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Long enough for any browser; a new version is a new URL. */
const ONE_YEAR = '365d';

/** A short hash of every file under `dir` (names and bytes): it changes whenever any of them does. */
export function staticVersion(dir: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) {
    hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}

/**
 * The static files again under a versioned prefix, `/static/<version>/app.css`,
 * cached for a year as immutable: pages link them through `fastify.staticUrl`
 * (or `{{static 'app.css'}}` in a template), so a new release is fetched at
 * once. The plain `/static/app.css` stays for old pages, revalidated on every
 * use (`no-cache`, answered with 304 while it has not changed).
 */
export default fp(
  async function staticAssets(fastify: FastifyInstance, options: { dir: string }) {
    const prefix = `/static/${staticVersion(options.dir)}/`;
    await fastify.register(fastifyStatic, {
      root: options.dir,
      prefix,
      // The plain prefix's registration (plugins/views.ts) decorates the reply already.
      decorateReply: false,
      immutable: true,
      maxAge: ONE_YEAR,
    });
    fastify.decorate('staticUrl', (path: string) => `${prefix}${path.replace(/^\/+/, '')}`);
    // Templates call it as `{{static 'app.css'}}`: a function in the data is a helper to handlebars.
    // Callback hooks: they never wait, and an async hook costs a promise on every request.
    fastify.addHook('onRequest', (_request, reply, done) => {
      // @fastify/view gives each reply a fresh `locals` before this runs.
      if (reply.locals) reply.locals.static = fastify.staticUrl;
      else reply.locals = { static: fastify.staticUrl };
      done();
    });
    fastify.addHook('onSend', (request, reply, payload, done) => {
      if (request.url.startsWith('/static/') && !request.url.startsWith(prefix)) {
        reply.header('cache-control', 'no-cache');
      }
      done(null, payload);
    });
  },
  { name: 'static-assets', dependencies: ['views'] },
);
