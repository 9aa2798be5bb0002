import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** What Node's parser refuses before there is a request: too many header bytes, too slow, or unreadable. */
export type ClientErrorKind = 'headers' | 'timeout' | 'unreadable';

const STATUS: Record<ClientErrorKind, number> = { headers: 431, timeout: 408, unreadable: 400 };
/** Headers of the rendered page that belong to its own exchange, not to a canned answer. */
const NOT_COPIED = new Set(['set-cookie', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

function clientErrorKind(error: NodeJS.ErrnoException): ClientErrorKind {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'headers';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'timeout';
  return 'unreadable';
}

/**
 * Answers for requests Node refuses before fastify sees them (raw non-ASCII
 * bytes in the request line, 431 headers too large): the shop's HTML error
 * page with every header a page has, instead of fastify's bare JSON. Each is
 * rendered once, through the app's own routing at `path?reason=<kind>`, and
 * written straight to the socket, which is then closed: there is no request
 * to answer in the usual way.
 */
export class ClientErrorPages {
  private readonly answers = new Map<ClientErrorKind, Promise<Buffer>>();

  constructor(
    private readonly app: FastifyInstance,
    private readonly path: string,
  ) {}

  /** fastify's `clientErrorHandler`. */
  handle(error: NodeJS.ErrnoException, socket: Socket): void {
    // A reset socket is gone; there is nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const kind = clientErrorKind(error);
    this.app.log.info({ code: error.code, kind }, 'a request Node could not read');
    // Keep-alive: an answer to an earlier request on this socket has begun, so nothing may be written now.
    const current = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (current?.headersSent) {
      socket.destroy();
      return;
    }
    this.answer(kind).then(
      (bytes) => {
        if (socket.writable) socket.end(bytes);
        else socket.destroy();
      },
      (err: unknown) => {
        this.app.log.error({ err }, 'the client error page could not be rendered');
        socket.destroy();
      },
    );
  }

  private answer(kind: ClientErrorKind): Promise<Buffer> {
    let answer = this.answers.get(kind);
    if (!answer) {
      answer = this.render(kind);
      // A failed render is tried again next time.
      answer.catch(() => this.answers.delete(kind));
      this.answers.set(kind, answer);
    }
    return answer;
  }

  private async render(kind: ClientErrorKind): Promise<Buffer> {
    const page = await this.app.inject({ method: 'GET', url: `${this.path}?reason=${kind}` });
    const status = STATUS[kind];
    const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`];
    for (const [name, value] of Object.entries(page.headers)) {
      if (value === undefined || NOT_COPIED.has(name.toLowerCase())) continue;
      for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
    }
    const body = page.rawPayload;
    lines.push(`content-length: ${body.length}`, 'connection: close', '', '');
    return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]);
  }
}
