/**
 * The HTTP transports as one part of the server: their sessions, their clients (kept apart from
 * `/ws`'s, so the WebSocket gauge counts WebSockets only, with their own heartbeat sweep) and the
 * endpoints under `/rt/`, whose clients run the same connection code as `/ws` and count on the
 * metrics labelled `transport="http"`. `server.ts` routes `/rt/` here and closes it on shutdown.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_FRAMES_PER_POST } from '../../lib/wire/http-transport';
import { createClient, type ClientContext } from '../clients/client';
import { createLiveClients } from '../clients/live-clients';
import type { OriginPolicy } from '../http/origin';
import type { ConnectionCaps } from '../limits/connection-caps';
import type { Metrics } from '../metrics';
import type { ServerOptions } from '../options';
import { createHttpEndpoints } from './http-endpoints';
import { createHttpSessions } from './http-sessions';

export interface HttpTransportsDeps {
  readonly options: ServerOptions;
  readonly context: ClientContext;
  readonly origins: OriginPolicy;
  readonly caps: ConnectionCaps;
  readonly metrics: Metrics;
  /** False once shutdown has begun: new sessions are refused with 503. */
  readonly accepting: () => boolean;
  /** Why the server cannot serve right now, or `null` when it can. */
  readonly unhealthy: () => string | null;
}

export interface HttpTransports {
  /** Serves a request whose path is under `/rt/`. */
  readonly handle: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;
  /** Open sessions by what reads them now, for the gauge. */
  counts(): Readonly<Record<string, number>>;
  /** Closes every HTTP client with 1001 and settles when all are closed. */
  closeAll(reason: string): Promise<void>;
  /** Stops the timers (heartbeat sweep, session expiry). */
  stop(): void;
}

export function createHttpTransports(deps: HttpTransportsDeps): HttpTransports {
  const { options, metrics } = deps;
  const { sessionIdleMs, streamHeartbeatMs, pollTimeoutMs, now } = options;
  const clients = createLiveClients({ heartbeatMs: options.heartbeatMs });
  const sessions = createHttpSessions({ sessionIdleMs, streamHeartbeatMs, pollTimeoutMs, now, maxPollBytes: options.maxBufferedBytes });
  const httpMetrics = metrics.forTransport('http');
  const context: ClientContext = { ...deps.context, metrics: httpMetrics };
  const handle = createHttpEndpoints({
    ...deps,
    sessions,
    metrics: httpMetrics,
    options: { maxPostBytes: options.maxPostBytes, maxFramesPerPost: MAX_FRAMES_PER_POST },
    openClient: (session, ticket) => {
      const client = createClient(session, context, ticket, clients);
      clients.add(client);
      return client;
    },
  });
  return {
    handle,
    counts: () => sessions.counts(),
    closeAll: (reason) => clients.closeAll(reason),
    stop() {
      clients.stop();
      sessions.stop();
    },
  };
}
