/**
 * The cookies a browser would keep for one site, for tools that use the web
 * app's own pages (`pizza load`, the tests and the bench): take Set-Cookie
 * headers in, give a Cookie header out.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  get size(): number {
    return this.cookies.size;
  }

  /** The Cookie request header; empty when there is nothing to send. */
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Keeps what a response set, and forgets what it cleared. */
  take(response: Response): void {
    this.takeSetCookie(response.headers.getSetCookie());
  }

  /** Keeps what Set-Cookie header values set, and forgets what they cleared. */
  takeSetCookie(values: readonly string[]): void {
    for (const cookie of values) {
      const [pair] = cookie.split(';');
      const separator = pair?.indexOf('=') ?? -1;
      if (!pair || separator < 0) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      if (value === '' || /max-age=0/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}
