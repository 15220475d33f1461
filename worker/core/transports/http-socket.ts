/**
 * The server's HTTP transports (`/rt/`, README "HTTP transports") presented as the `SocketLike`
 * the connection already drives, so the handshake, heartbeat, recovery and outbox run unchanged
 * over them. One socket is one server session: `POST /rt/sessions` is the "open", the reader
 * (`./http-readers.ts`: an SSE stream or a long-poll loop) delivers server frames to `onmessage` as
 * bytes, as a binary WebSocket message would, and client frames go out by `POST …/frames`.
 *
 * Frames are posted one request at a time: two POSTs in flight may travel on different
 * connections and reach the server in either order, which would reorder frames (a `subscribe`
 * before its `hello`). What is sent while a POST is out waits and goes in the next one, so the
 * frames of one turn (a resubscribe burst) share a request. Every failure that is not the server's
 * own close (a cut stream, a refused POST, fetch rejecting) becomes `onclose` with 1006, so the
 * connection's reconnect and recovery take over exactly as after a dropped WebSocket.
 */
import type { HttpTransportName } from '../../../lib/rpc/hub-api';
import { CloseCode } from '../../../lib/wire/close-codes';
import type { SocketLike } from '../platform';
import { base64ToBytes, bytesToBase64 } from './base64';
import { readPolls, readStream, type Reader, type ReaderEvents } from './http-readers';
import { MAX_FRAMES_PER_POST, SESSION_HEADER } from '../../../lib/wire/http-transport';
import { httpBaseUrl, parseClose, type FetchLike } from './http-wire';



const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

export interface HttpSocketDeps {
  readonly fetch: FetchLike;
  readonly transport: HttpTransportName;
  /**
   * Called on every delivery (an SSE event or comment, a poll answered). The extension host makes
   * one cheap extension API call here: in Chrome MV3, data arriving on a `fetch` does not keep the
   * service worker alive, an extension API call does (docs/mv3-keepalive.md).
   */
  readonly deliveryHook?: () => void;
}

/** Opens a session on the server at `wsUrl` over `deps.transport`; the socket is `CONNECTING` until it exists. */
export function openHttpSocket(wsUrl: string, deps: HttpSocketDeps): SocketLike & { readonly transport: HttpTransportName } {
  const base = httpBaseUrl(wsUrl);
  const abort = new AbortController();
  let readyState = CONNECTING;
  let sessionUrl: string | null = null;
  let headers: Record<string, string> = {};
  const pending: string[] = [];
  let posting = false;

  const socket = {
    transport: deps.transport,
    binaryType: 'arraybuffer',
    get readyState() {
      return readyState;
    },
    onopen: null as SocketLike['onopen'],
    onmessage: null as SocketLike['onmessage'],
    onclose: null as SocketLike['onclose'],
    onerror: null as SocketLike['onerror'],
    send(data: Uint8Array): void {
      // As a WebSocket: sending before open is a bug of the caller; after close it is dropped.
      if (readyState === CONNECTING) throw new Error('send before the session is open');
      if (readyState !== OPEN) return;
      pending.push(bytesToBase64(data));
      if (!posting) {
        posting = true;
        // After this turn, so every frame sent in it goes in the same POST.
        void Promise.resolve().then(postPending);
      }
    },
    close(code = 1000, reason = ''): void {
      if (readyState === CLOSED) return;
      end(code, reason, true);
    },
  };

  /** The socket's one way out: stops every request, tells the server (unless it closed us), reports the close once. */
  function end(code: number, reason: string, deleteSession: boolean): void {
    if (readyState === CLOSED) return;
    readyState = CLOSED;
    abort.abort();
    pending.length = 0;
    if (deleteSession && sessionUrl) {
      void deps.fetch(sessionUrl, { method: 'DELETE', headers }).catch(() => undefined);
    }
    // A WebSocket reports its close in a later task; so does this, never inside `close()`.
    void Promise.resolve().then(() => socket.onclose?.({ code, reason }));
  }

  const fail = (reason: string): void => end(CloseCode.abnormal, reason, true);

  async function postPending(): Promise<void> {
    while (pending.length > 0 && readyState === OPEN && sessionUrl) {
      const batch = pending.splice(0, MAX_FRAMES_PER_POST);
      let status: number;
      try {
        const res = await deps.fetch(`${sessionUrl}/frames`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(batch),
          signal: abort.signal,
        });
        status = res.status;
      } catch (error) {
        if (readyState === OPEN) fail(`posting frames failed: ${String(error)}`);
        break;
      }
      // 410: the session closed; its reader is about to tell why, with the server's code.
      if (status === 410) break;
      if (status !== 204 && status !== 200) {
        fail(`posting frames answered ${status}`);
        break;
      }
    }
    posting = false;
  }

  const events: ReaderEvents = {
    frame(base64) {
      if (readyState !== OPEN) return;
      const bytes = base64ToBytes(base64);
      if (!bytes) return fail('the server sent a frame that is not base64');
      socket.onmessage?.({ data: bytes });
    },
    delivered() {
      try {
        deps.deliveryHook?.();
      } catch {
        // A keep-alive nudge that failed changes nothing about the connection.
      }
    },
    closed: (close) => end(close.code, close.reason, false),
    failed: fail,
  };

  async function start(): Promise<void> {
    let res: Response;
    let body: unknown;
    try {
      res = await deps.fetch(`${base}/sessions`, { method: 'POST', signal: abort.signal });
      body = await res.json().catch(() => null);
    } catch (error) {
      return fail(`cannot reach ${base}: ${String(error)}`);
    }
    if (readyState !== CONNECTING) return;
    if (res.status !== 201) {
      // Refused under the caps (503) or by origin (403): the close a socket would get, when given.
      const close = parseClose((body as { close?: unknown } | null)?.close);
      if (close) return end(close.code, close.reason, false);
      // The origin policy answers 403 where `/ws` would close with 4003: a refusal to stop at, not retry.
      if (res.status === 403) return end(CloseCode.originForbidden, 'origin not allowed', false);
      return fail(`POST ${base}/sessions answered ${res.status}`);
    }
    const { session, secret } = (body ?? {}) as Record<string, unknown>;
    if (typeof session !== 'string' || typeof secret !== 'string' || !/^[\w-]+$/.test(session)) {
      return fail('the server answered a session without id or secret');
    }
    sessionUrl = `${base}/sessions/${session}`;
    headers = { [SESSION_HEADER]: secret };
    readyState = OPEN;
    socket.onopen?.({});
    if (readyState !== OPEN) return;
    const reader: Reader = deps.transport === 'streaming' ? readStream : readPolls;
    await reader({ fetch: deps.fetch, url: sessionUrl, headers, signal: abort.signal, isOpen: () => readyState === OPEN }, events);
  }

  // Started after this turn, so the connection attaches its handlers first (as with a WebSocket).
  void Promise.resolve().then(start);
  return socket;
}
