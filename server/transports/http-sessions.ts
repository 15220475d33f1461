/**
 * The HTTP sessions of this node by id: each one's client (the same connection `/ws` runs), the
 * sweep that expires a session nobody has streamed or polled for `sessionIdleMs` (its client is
 * closed with 4008, which releases its subscriptions and its place under the caps), and the
 * counts the metrics read. A closed session stays findable until a receiver has been told its
 * close (or for another `sessionIdleMs`), so a client between two polls learns why, rather than
 * meeting a bare 404.
 */
import { CloseCode } from '../../lib/wire/close-codes';
import type { Client } from '../clients/client';
import { HttpSession, type HttpSessionOptions } from './http-session';

export interface HttpSessionsOptions extends HttpSessionOptions {
  /** A session with no stream or poll attached for this long is closed (4008 `session expired`). */
  readonly sessionIdleMs: number;
}

export interface HttpSessions {
  /** Makes a session and its client (`open` wires the connection onto it). */
  create(open: (session: HttpSession) => Client): HttpSession;
  get(id: string): HttpSession | undefined;
  /** Open sessions by what reads them right now (`none`: between two polls, or not read yet). */
  counts(): Readonly<Record<ReturnType<HttpSession['reading']>, number>>;
  stop(): void;
}

interface Entry {
  readonly session: HttpSession;
  readonly client: Client;
  /** When the session closed, for forgetting it. */
  closedAt?: number;
}

export function createHttpSessions(options: HttpSessionsOptions): HttpSessions {
  const sessions = new Map<string, Entry>();
  const idleS = Math.round(options.sessionIdleMs / 1000);

  function sweep(): void {
    const now = options.now();
    for (const [id, entry] of sessions) {
      const { session } = entry;
      if (entry.closedAt !== undefined) {
        if (session.drained() || now - entry.closedAt > options.sessionIdleMs) sessions.delete(id);
      } else if (session.idleFor(now) > options.sessionIdleMs) {
        entry.client.drop(CloseCode.pingTimeout, `session expired: not streamed or polled for ${idleS} s`, 'ping-timeout');
      }
    }
  }
  const timer = setInterval(sweep, Math.max(10, Math.min(1000, Math.floor(options.sessionIdleMs / 4))));
  timer.unref();

  return {
    create(open) {
      const session = new HttpSession(options);
      const entry: Entry = { session, client: open(session) };
      sessions.set(session.id, entry);
      session.once('close', () => (entry.closedAt = options.now()));
      return session;
    },
    get(id) {
      const entry = sessions.get(id);
      if (entry?.session.drained()) {
        sessions.delete(id);
        return undefined;
      }
      return entry?.session;
    },
    counts() {
      const counts = { stream: 0, poll: 0, none: 0 };
      for (const { session, closedAt } of sessions.values()) if (closedAt === undefined) counts[session.reading()] += 1;
      return counts;
    },
    stop() {
      clearInterval(timer);
      sessions.clear();
    },
  };
}
