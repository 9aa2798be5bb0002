import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import Handlebars from 'handlebars';
import type { PageContext } from '../context.js';

const PARTIALS = ['flow', 'flow-tall', 'timeline', 'log-lines', 'nav', 'cancel'] as const;

/** Handlebars views in a layout, and the static assets next to them: nothing comes from a CDN. */
export default fp(
  async function views(fastify: FastifyInstance, options: { templatesDir: string; shopName: string }) {
    const handlebars = Handlebars.create();
    handlebars.registerHelper('eq', (left: unknown, right: unknown) => left === right);
    handlebars.registerHelper('includes', (list: unknown, item: unknown) => Array.isArray(list) && list.includes(item));
    handlebars.registerHelper('join', (list: unknown) => (Array.isArray(list) ? list.join(', ') : ''));

    await fastify.register(fastifyView, {
      engine: { handlebars },
      root: options.templatesDir,
      layout: 'layout.hbs',
      viewExt: 'hbs',
      options: { partials: Object.fromEntries(PARTIALS.map((name) => [name, `partials/${name}.hbs`])) },
      defaultContext: { shopName: options.shopName },
      // Templates are read and compiled once, not for every page (that cost most of a page's CPU):
      // a changed template shows after a restart.
      production: true,
    });
    await fastify.register(fastifyStatic, {
      root: join(options.templatesDir, 'static'),
      prefix: '/static/',
      maxAge: '1h',
    });

    fastify.decorateReply(
      'page',
      async function page(this: FastifyReply, template: string, context: PageContext, statusCode = 200) {
        const customer = this.request.customer;
        const html = await this.viewAsync(template, {
          ...context,
          customer,
          csrfToken: this.generateCsrf(),
        });
        this.code(statusCode).type('text/html; charset=utf-8');
        return html;
      },
    );
  },
  { name: 'views', dependencies: ['security', 'session'] },
);
