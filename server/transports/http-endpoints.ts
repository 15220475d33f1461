/**
 * The HTTP transports' endpoints, beside `/ws` for clients that cannot open a WebSocket:
 *
 * - `GET /rt/sessions` says whether a session could be made now → `200 {ok: true}`, or 503 while
 *   the server shuts down or a shared store is unreachable: the hub asks it, under the same Origin
 *   policy and CORS as the rest, before it steps down from a WebSocket that keeps failing;
 * - `POST /rt/sessions` makes a session → `201 {session, secret}`; the client then sends `hello`
 *   (its token inside, as on `/ws`) like any other frame;
 * - `GET /rt/sessions/<id>/stream` reads it as an SSE stream (`sse.ts`);
 * - `GET /rt/sessions/<id>/poll` reads it by long polling → `{frames, close?}`;
 * - `POST /rt/sessions/<id>/frames` with a JSON array of frames (msgpack in base64) → 204;
 * - `DELETE /rt/sessions/<id>` ends it → 204.
 *
 * The id in the path is a capability that may end up in logs, so every request on a session also
 * presents its secret in `x-switchboard-session`. The Origin policy of `/ws` decides every request
 * (a browser sends `Origin` on each cross-origin one, and on every POST); the origins it allows
 * get CORS answers, preflights included, and no other origin does. The connection caps are those
 * of `/ws`; the frame rates, sizes and codec checks are the connection's own, as every
 * frame goes through it. Refusals are plain HTTP statuses with a JSON `error`: 401 no secret, 403
 * wrong secret or origin, 404 unknown session, 410 session closed (with its `close`), 413 body
 * too large, 400 malformed body, 503 shutting down or full (with the `close` a socket would get).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RT_SESSIONS_PATH, SESSION_HEADER } from '../../lib/wire/http-transport';
import type { Client } from '../clients/client';
import type { OriginPolicy } from '../http/origin';
import { readJsonBody, sendJson } from '../http/body';
import type { ConnectionCaps, Ticket } from '../limits/connection-caps';
import type { Metrics } from '../metrics';
import { SocketState } from './client-socket';
import type { HttpSession } from './http-session';
import type { HttpSessions } from './http-sessions';


export interface HttpEndpointsOptions {
  /** Largest `POST …/frames` body in bytes; more is answered 413. Default 256 KiB (`maxPostBytes`). */
  readonly maxPostBytes: number;
  /** Most frames in one `POST …/frames`; more is answered 413. */
  readonly maxFramesPerPost: number;
}

export interface HttpEndpointsDeps {
  readonly options: HttpEndpointsOptions;
  readonly sessions: HttpSessions;
  readonly origins: Pick<OriginPolicy, 'check'>;
  readonly caps: Pick<ConnectionCaps, 'admit'>;
  readonly metrics: Pick<Metrics, 'connectionRefused'>;
  /** False once shutdown has begun: new sessions are refused with 503. */
  readonly accepting: () => boolean;
  /** Why the server cannot serve right now (a shared store is unreachable), or `null` when it can. */
  readonly unhealthy?: () => string | null;
  /** Runs a connection over a new session; `ticket` is its place under the caps. */
  readonly openClient: (session: HttpSession, ticket: Ticket) => Client;
}

/** Base64 of msgpack, nothing else (Node's decoder would skip stray characters silently). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** `/rt/sessions/<id>[/<action>]`; an id is 22 base64url characters. */
const SESSION_PATH = /^\/rt\/sessions\/([A-Za-z0-9_-]{1,64})(?:\/(stream|poll|frames))?$/;

/**
 * CORS for the origins the policy allows (an extension holds no host permission for its server, so
 * its fetches are cross-origin): they may send the secret header and use these methods. Nothing
 * is allowed for credentials: the transports use no cookies.
 */
const PREFLIGHT = {
  'access-control-allow-methods': 'GET, POST, DELETE',
  'access-control-allow-headers': `${SESSION_HEADER}, content-type`,
  'access-control-max-age': '600',
} as const;

const ROUTES: Readonly<Record<string, string>> = { stream: 'GET', poll: 'GET', frames: 'POST', '': 'DELETE' };

/** Returns the handler of every path under `/rt/`. */
export function createHttpEndpoints(deps: HttpEndpointsDeps): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const { options, sessions, metrics } = deps;

  function create(req: IncomingMessage, res: ServerResponse): void {
    if (!deps.accepting()) return sendJson(res, 503, { error: 'Server is shutting down' }, { 'retry-after': '1' });
    const admission = deps.caps.admit(req.socket.remoteAddress);
    if (!admission.ok) {
      metrics.connectionRefused(admission.metric);
      const close = { code: admission.closeCode, reason: admission.closeReason };
      return sendJson(res, 503, { error: admission.error.message, close }, { 'retry-after': '1' });
    }
    let session: HttpSession;
    try {
      session = sessions.create((s) => deps.openClient(s, admission.ticket));
    } catch (error) {
      admission.ticket.release();
      throw error;
    }
    sendJson(res, 201, { session: session.id, secret: session.secret });
  }

  /** The session a request names, or the refusal already answered. */
  function sessionOf(req: IncomingMessage, res: ServerResponse, id: string): HttpSession | undefined {
    const session = sessions.get(id);
    if (!session) return void sendJson(res, 404, { error: 'No such session: create one with POST /rt/sessions' });
    const presented = req.headers[SESSION_HEADER];
    if (typeof presented !== 'string') return void sendJson(res, 401, { error: `Missing ${SESSION_HEADER} header: send the session's secret` });
    if (!session.admits(presented)) return void sendJson(res, 403, { error: `Wrong ${SESSION_HEADER} for this session` });
    return session;
  }

  async function postFrames(req: IncomingMessage, res: ServerResponse, session: HttpSession): Promise<void> {
    const body = await readJsonBody(req, options.maxPostBytes);
    if (!body.ok) return sendJson(res, body.tooLarge ? 413 : 400, { error: body.error });
    const frames = body.value;
    if (!Array.isArray(frames) || frames.length === 0) return sendJson(res, 400, { error: 'Body must be a non-empty JSON array of frames (msgpack in base64)' });
    if (frames.length > options.maxFramesPerPost) {
      return sendJson(res, 413, { error: `${frames.length} frames in one POST; at most ${options.maxFramesPerPost}` });
    }
    const bad = frames.findIndex((f) => typeof f !== 'string' || !BASE64.test(f));
    if (bad >= 0) return sendJson(res, 400, { error: `Frame ${bad} is not a base64 string` });
    if (session.readyState !== SocketState.OPEN) return sendJson(res, 410, { error: 'Session closed' });
    // From here the frames are the connection's: it decodes, validates and rate-limits each one.
    session.deliver((frames as string[]).map((f) => Buffer.from(f, 'base64')));
    res.writeHead(204, { 'cache-control': 'no-store' }).end();
  }

  /** Whether a session could be made now (see the list at the top). */
  function health(res: ServerResponse): void {
    const problem = deps.accepting() ? (deps.unhealthy?.() ?? null) : 'Server shutting down';
    if (problem === null) return sendJson(res, 200, { ok: true }, { 'cache-control': 'no-store' });
    sendJson(res, 503, { ok: false, error: problem }, { 'retry-after': '1', 'cache-control': 'no-store' });
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const origin = deps.origins.check(req.headers.origin, req.headers.host);
    if (!origin.ok) {
      metrics.connectionRefused('origin');
      return sendJson(res, 403, { error: origin.reason });
    }
    const from = req.headers.origin;
    if (from !== undefined) res.setHeader('access-control-allow-origin', from).setHeader('vary', 'origin');
    if (method === 'OPTIONS') return void res.writeHead(204, PREFLIGHT).end();
    if (path === RT_SESSIONS_PATH) {
      if (method === 'GET') return health(res);
      if (method !== 'POST') return sendJson(res, 405, { error: `Method ${method} not allowed on ${RT_SESSIONS_PATH}: use GET or POST` }, { allow: 'GET, POST' });
      return create(req, res);
    }
    const match = SESSION_PATH.exec(path);
    if (!match) return sendJson(res, 404, { error: `Not found: ${method} ${path.slice(0, 200)}` });
    const [, id, action = ''] = match;
    const allowed = ROUTES[action]!;
    if (method !== allowed) return sendJson(res, 405, { error: `Method ${method} not allowed on ${path.slice(0, 200)}: use ${allowed}` }, { allow: allowed });
    const session = sessionOf(req, res, id!);
    if (!session) return;
    if (action === 'stream') return session.attachStream(res);
    if (action === 'poll') return session.attachPoll(res);
    if (action === 'frames') return postFrames(req, res, session);
    session.closeByPeer();
    res.writeHead(204, { 'cache-control': 'no-store' }).end();
  }

  return route;
}
