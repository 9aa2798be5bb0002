import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestWeb, type TestWeb, WebClient } from './web-client.js';

let web: TestWeb;
beforeEach(async () => {
  web = await startTestWeb();
});
afterEach(async () => {
  await web.close();
});

describe('web app: health, login, CSRF and headers', () => {
  it('answers the health check with a plain Ok', async () => {
    const response = await web.app.inject({ method: 'GET', url: '/health-check' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('Ok');
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('logs in with any name and sets a signed, httpOnly, SameSite=Lax session cookie', async () => {
    const client = new WebClient(web.app);
    const response = await client.login('Ada');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/menu');
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(/pizza_session=[^;]+\.[^;]+;/); // value.signature
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    const menu = await client.get('/menu');
    expect(menu.statusCode).toBe(200);
    expect(menu.body).toContain('Ada');
  });

  it('gives every login a fresh customer id', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const first = client.cookieHeader();
    await client.login('Ada');
    expect(client.cookieHeader()).not.toBe(first);
  });

  it('refuses a name longer than 16 characters with the form, a message and 400', async () => {
    const client = new WebClient(web.app);
    const response = await client.login('x'.repeat(17));
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('at most 16 characters');
    expect(response.body).toContain('name="username"');
    expect(String(response.headers['set-cookie'] ?? '')).not.toContain('pizza_session=');
  });

  it("refuses a name sent twice, or none, with the form and a message in the shop's words", async () => {
    for (const [form, message] of [
      [{ username: ['Ada', 'Bob'] }, 'Enter one name.'],
      [{}, 'Enter a name.'],
      [{ username: '   ' }, 'Enter a name.'],
    ] as const) {
      const client = new WebClient(web.app);
      await client.get('/login');
      const response = await client.post('/login', form as Record<string, string | string[]>);
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain(message);
      expect(response.body).not.toContain('Invalid input');
      expect(response.body).toContain('name="username"');
      expect(String(response.headers['set-cookie'] ?? '')).not.toContain('pizza_session=');
    }
  });

  it('checks the CSRF token before the form: a forged form with a bad name gets 403, not the form', async () => {
    const client = new WebClient(web.app);
    await client.get('/login');
    const response = await client.post('/login', { username: ['Ada', 'Bob'] }, false);
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('This form has expired');
  });

  it('ignores a tampered session cookie', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    const forged = client.cookieHeader().replace(/pizza_session=([^.;]+)/, 'pizza_session=$1x');
    const response = await web.app.inject({ method: 'GET', url: '/menu', headers: { cookie: forged } });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/login');
  });

  it('refuses a POST without a CSRF token with 403 and logs nobody in', async () => {
    const client = new WebClient(web.app);
    await client.get('/login');
    const response = await client.post('/login', { username: 'Mallory' }, false);
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('This form has expired');
    expect(String(response.headers['set-cookie'] ?? '')).not.toContain('pizza_session=');
  });

  it('refuses a POST whose CSRF token was made for another browser', async () => {
    const victim = new WebClient(web.app);
    await victim.get('/login');
    const attacker = new WebClient(web.app);
    await attacker.get('/login');
    attacker.csrfToken = `${victim.csrfToken.slice(0, -2)}xx`;
    expect((await attacker.post('/login', { username: 'Mallory' })).statusCode).toBe(403);
  });

  it('logs out only with a CSRF token', async () => {
    const client = new WebClient(web.app);
    await client.login('Ada');
    expect((await client.post('/logout', {}, false)).statusCode).toBe(403);
    expect((await client.get('/menu')).statusCode).toBe(200);
    const logout = await client.post('/logout', {});
    expect(logout.statusCode).toBe(303);
    expect((await client.get('/menu')).headers.location).toBe('/login');
  });

  it('sends security headers with a self-only content security policy', async () => {
    const response = await web.app.inject({ method: 'GET', url: '/login' });
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
  });

  it('serves its stylesheet and script itself', async () => {
    for (const asset of ['/static/app.css', '/static/live.js', '/static/pizza.svg']) {
      expect((await web.app.inject({ method: 'GET', url: asset })).statusCode).toBe(200);
    }
    const page = await web.app.inject({ method: 'GET', url: '/login' });
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('refuses an oversized form with 413', async () => {
    const client = new WebClient(web.app);
    await client.get('/login');
    const response = await client.post('/login', { username: 'a', padding: 'x'.repeat(64 * 1024) });
    expect(response.statusCode).toBe(413);
  });

  it('answers an unknown address with a 404 page', async () => {
    const response = await web.app.inject({ method: 'GET', url: '/no/such/page' });
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('Page not found');
  });
});
