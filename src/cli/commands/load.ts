import type { Command } from 'commander';
import { z } from 'zod';
import { configError, EXIT_CODES } from '../../errors.js';
import { DEMO_LOAD_LIMITS } from '../../lineage/demo-load.js';
import { CookieJar } from '../cookie-jar.js';

const LOAD_LIMITS = DEMO_LOAD_LIMITS;
export const DEFAULT_WEB_URL = 'http://127.0.0.1:8000';

/**
 * A customer's session on a running web app over plain HTTP: a login, its
 * cookies and its CSRF token, so tools use the same pages a browser does.
 */
export class WebSession {
  private readonly cookies = new CookieJar();
  private csrfToken = '';

  constructor(private readonly baseUrl: string) {}

  static async login(baseUrl: string, username: string): Promise<WebSession> {
    const session = new WebSession(baseUrl);
    await session.get('/login');
    const response = await session.post('/login', { username });
    if (response.status !== 303)
      throw configError(`${baseUrl}: the web app refused to log in (HTTP ${response.status}).`);
    await session.get('/menu');
    return session;
  }

  async get(path: string): Promise<Response> {
    const response = await this.send('GET', path);
    const text = await response.clone().text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (token) this.csrfToken = token;
    return response;
  }

  post(path: string, form: Record<string, string | string[]>): Promise<Response> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(form))
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    params.set('_csrf', this.csrfToken);
    return this.send('POST', path, params.toString());
  }

  private async send(method: 'GET' | 'POST', path: string, body?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = this.cookies.header();
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), { method, headers, body, redirect: 'manual' });
    } catch (error) {
      throw configError(
        `No web app answers at ${this.baseUrl}: start one (pizza all) or give its address with --url.`,
        error,
      );
    }
    this.cookies.take(response);
    return response;
  }
}

const loadOptions = z.object({
  orders: z.coerce.number().int().min(1).max(LOAD_LIMITS.maxOrders),
  rate: z.coerce.number().min(0.1).max(LOAD_LIMITS.maxRate),
  url: z.string().url().default(DEFAULT_WEB_URL),
});

/** Reads the web app's menu page for the choices a customer can make. */
function menuChoices(html: string): Record<'sauce' | 'cheese' | 'mainTopping' | 'extraToppings', string[]> {
  const values = (name: string) =>
    [...html.matchAll(new RegExp(`name="${name}" value="([^"]+)"`, 'g'))].map((match) =>
      (match[1] ?? '').replaceAll('&amp;', '&').replaceAll('&#x27;', "'").replaceAll('&quot;', '"'),
    );
  return {
    sauce: values('sauce'),
    cheese: values('cheese'),
    mainTopping: values('mainTopping'),
    extraToppings: values('extraToppings'),
  };
}

export interface LoadResult {
  placed: number;
  failed: number;
}

/** Places `orders` demo orders at `rate` per second through the web app's real order form. */
export async function placeLoad(
  options: { orders: number; rate: number; url: string },
  progress: (placed: number, failed: number) => void = () => {},
): Promise<LoadResult> {
  const session = await WebSession.login(options.url, 'demo');
  const menu = menuChoices(await (await session.get('/menu')).text());
  if (menu.sauce.length === 0) throw configError(`${options.url}/menu shows no menu: is this a pizza web app?`);
  const pick = (items: string[]) => items[Math.floor(Math.random() * items.length)] ?? '';
  const result: LoadResult = { placed: 0, failed: 0 };
  const sending: Array<Promise<void>> = [];
  for (let index = 0; index < options.orders; index += 1) {
    const started = Date.now();
    sending.push(
      session
        .post('/orders', {
          sauce: pick(menu.sauce),
          cheese: pick(menu.cheese),
          mainTopping: pick(menu.mainTopping),
          extraToppings: menu.extraToppings.filter(() => Math.random() < 0.25).slice(0, 3),
        })
        .then((response) => {
          if (response.status === 303) result.placed += 1;
          else result.failed += 1;
        })
        .catch(() => {
          result.failed += 1;
        })
        .finally(() => progress(result.placed, result.failed)),
    );
    const wait = 1000 / options.rate - (Date.now() - started);
    if (wait > 0 && index < options.orders - 1) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await Promise.all(sending);
  return result;
}

export function loadCommand(program: Command): Command {
  return program
    .command('load')
    .description("place a burst of demo orders through a running web app's order form, to watch a bottleneck form")
    .requiredOption('--orders <n>', `how many orders (at most ${LOAD_LIMITS.maxOrders})`)
    .option('--rate <per-second>', `orders per second (at most ${LOAD_LIMITS.maxRate})`, '10')
    .option('--url <url>', 'the web app', DEFAULT_WEB_URL)
    .action(async (raw: Record<string, unknown>) => {
      const parsed = loadOptions.safeParse(raw);
      if (!parsed.success) {
        throw configError(
          `--orders takes 1 to ${LOAD_LIMITS.maxOrders} and --rate up to ${LOAD_LIMITS.maxRate} per second; --url a web address such as ${DEFAULT_WEB_URL}.`,
        );
      }
      const result = await placeLoad(parsed.data, (placed, failed) => {
        if (process.stderr.isTTY) process.stderr.write(`\rplaced ${placed}, failed ${failed}   `);
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      process.stdout.write(`Placed ${result.placed} of ${parsed.data.orders} demo orders at ${parsed.data.url}.\n`);
      process.exitCode = result.failed > 0 ? EXIT_CODES.failed : EXIT_CODES.ok;
    });
}
