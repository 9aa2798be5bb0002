import type { SSEMessage } from '@fastify/sse';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** How soon a browser's EventSource reconnects after its stream drops. */
const RECONNECT_MS = 2_000;
/** What a refused page is told to wait before it tries a stream again; it polls meanwhile. */
const RETRY_AFTER_SECONDS = 20;

/** One page's server-sent event stream, on @fastify/sse's `reply.sse`. */
export interface EventStream {
  send(event: string, data: unknown, id?: string): void;
  /** Runs when the stream ends, whoever ends it; at once if it has ended already. */
  onEnd(cleanup: () => void): void;
  end(): void;
}

export interface StreamCaps {
  perSession: number;
  perAddress: number;
  total: number;
}

/**
 * Counts open streams per customer session, per client address and in all.
 * Each open stream holds a listener on the feed and a socket: a cap keeps one
 * browser, one address or a crowd from turning the host into an amplifier.
 * Kept by hand: @fastify/rate-limit counts requests per time window, not streams open at once.
 */
export class StreamBudget {
  private readonly bySession = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly caps: StreamCaps) {}

  /** Takes a slot; returns its release, or why there is none. */
  claim(sessionKey: string, address: string): { release: () => void } | { refused: string } {
    if ((this.bySession.get(sessionKey) ?? 0) >= this.caps.perSession) return { refused: 'session' };
    if ((this.byAddress.get(address) ?? 0) >= this.caps.perAddress) return { refused: 'address' };
    if (this.total >= this.caps.total) return { refused: 'total' };
    add(this.bySession, sessionKey, 1);
    add(this.byAddress, address, 1);
    this.total += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        add(this.bySession, sessionKey, -1);
        add(this.byAddress, address, -1);
        this.total -= 1;
      },
    };
  }

  get open(): number {
    return this.total;
  }
}

function add(counts: Map<string, number>, key: string, delta: number): void {
  const next = (counts.get(key) ?? 0) + delta;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}

/**
 * The app's open event streams: opened within the caps, ended when their
 * session logs out here, and all ended before the server closes (an open
 * stream would keep it from closing).
 */
export class LiveStreams {
  private readonly budget: StreamBudget;
  /** Each open stream, with the session it belongs to. */
  private readonly streams = new Map<EventStream, string>();

  constructor(caps: StreamCaps) {
    this.budget = new StreamBudget(caps);
  }

  /**
   * Opens a stream on a route declared `{ sse: 'only' }`, within the caps, for
   * a logged-in session; or answers 429 and returns undefined: the page then
   * polls its state endpoint.
   */
  open(request: FastifyRequest, reply: FastifyReply, sessionId: string): EventStream | undefined {
    const slot = this.budget.claim(sessionId, request.ip);
    if ('refused' in slot) {
      request.log.info({ cap: slot.refused, open: this.budget.open }, 'live stream refused: too many open');
      void reply
        .code(429)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .header('cache-control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send('Too many live pages open; this page checks for news every few seconds instead.');
      return undefined;
    }
    const stream = eventStream(reply);
    this.streams.set(stream, sessionId);
    stream.onEnd(() => {
      this.streams.delete(stream);
      slot.release();
    });
    return stream;
  }

  /** Ends the streams of a session that logged out on this host. */
  endSession(sessionId: string): void {
    for (const [stream, owner] of [...this.streams]) if (owner === sessionId) stream.end();
  }

  endAll(): void {
    for (const stream of [...this.streams.keys()]) stream.end();
  }
}

/** Commits the reply as an event stream that stays open after the handler returns. */
function eventStream(reply: FastifyReply): EventStream {
  const sse = reply.sse;
  // Copied onto the stream by @fastify/sse: a proxy may neither keep it nor recompress (and so hold back) it.
  reply.header('cache-control', 'no-store, no-transform');
  sse.keepAlive();
  sse.sendHeaders();
  let retry: number | undefined = RECONNECT_MS;
  return {
    send(event, data, id) {
      if (!sse.isConnected) return;
      const message: SSEMessage = { event, data };
      if (id !== undefined) message.id = id;
      // The first event also tells the browser how soon to reconnect.
      if (retry !== undefined) message.retry = retry;
      retry = undefined;
      // Written at once (JSON has no raw newline, so one data line); rejects only once the client has gone.
      sse.send(message).catch(() => sse.close());
    },
    onEnd(cleanup) {
      if (sse.isConnected) sse.onClose(cleanup);
      else cleanup();
    },
    end() {
      sse.close();
    },
  };
}
