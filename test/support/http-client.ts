/**
 * A small test client for the HTTP transports, with plain `fetch`: it makes a session, reads it as
 * an SSE stream or by long polling, decodes (and so validates) every server frame with the shared
 * codec into a frame inbox, and posts client frames in order, one POST after the other (POSTs on
 * different connections could otherwise overtake each other). The SSE reading here is a few lines
 * for tests, not the hub's parser.
 */
import { createCodec } from '../../lib/wire/codec';
import type { ClientFrame } from '../../lib/wire/protocol';
import { clientSide, createFrameInbox, type CloseInfo, type ContractClient } from './frame-inbox';
import { SESSION_HEADER } from '../../lib/wire/http-transport';

export type HttpTransport = 'stream' | 'poll';

export interface HttpTestClient extends ContractClient {
  /** The session's id and secret, as `POST /rt/sessions` answered them. */
  readonly session: string;
  readonly secret: string;
  /** `http://host:port/rt/sessions/<id>`. */
  readonly sessionUrl: string;
  /** Heartbeat comments seen on the stream so far. */
  readonly heartbeats: () => number;
  /** Every SSE `id` seen so far, in order. */
  readonly eventIds: readonly string[];
  /** Aborts the read in flight and stops reading, without ending the session (no `DELETE`). */
  cut(): void;
}

const codec = createCodec();

/** Creates a session; resolves with its id and secret, or rejects with the status and body. */
export async function createSession(url: string, headers: Readonly<Record<string, string>> = {}): Promise<{ session: string; secret: string }> {
  const res = await fetch(`${url}/rt/sessions`, { method: 'POST', headers });
  const body = (await res.json()) as { session: string; secret: string; error?: string };
  if (res.status !== 201) throw new Error(`POST /rt/sessions answered ${res.status}: ${body.error}`);
  return body;
}

/** Makes a session and starts reading it; the `hello` is the caller's, as on `/ws`. */
export async function connectHttp(url: string, transport: HttpTransport): Promise<HttpTestClient> {
  const { session, secret } = await createSession(url);
  const sessionUrl = `${url}/rt/sessions/${session}`;
  const auth = { [SESSION_HEADER]: secret };
  const abort = new AbortController();
  const eventIds: string[] = [];
  let heartbeats = 0;
  let posting: Promise<number> = Promise.resolve(0);
  let resolveClosed!: (close: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((resolve) => (resolveClosed = resolve));

  const send = (frame: ClientFrame): void => {
    const body = JSON.stringify([Buffer.from(codec.encode(frame)).toString('base64')]);
    posting = posting.then(() => fetch(`${sessionUrl}/frames`, { method: 'POST', headers: auth, body }).then((r) => r.status, () => 0));
  };
  const inbox = createFrameInbox(send);
  const ended = (close: CloseInfo) => {
    resolveClosed(close);
    inbox.fail(new Error(`Session closed (${close.code} ${close.reason}) before a matching frame arrived; received: ${inbox.summary()}`));
  };
  const receive = (base64: string) => {
    const decoded = codec.decodeServerFrame(Buffer.from(base64, 'base64'));
    if (!decoded.ok) return inbox.fail(new Error(`Server sent an invalid frame: ${decoded.message}`));
    inbox.push(decoded.frame);
  };

  const reading =
    transport === 'stream'
      ? readStream(sessionUrl, auth, abort.signal, {
          frame: receive,
          id: (id) => eventIds.push(id),
          heartbeat: () => (heartbeats += 1),
        })
      : readPolls(sessionUrl, auth, abort.signal, receive);
  void reading.then(ended, (error: Error) => ended({ code: 1006, reason: error.message }));

  return {
    ...clientSide(inbox),
    session,
    secret,
    sessionUrl,
    heartbeats: () => heartbeats,
    eventIds,
    cut: () => abort.abort(),
    closed,
    async close() {
      await posting;
      await fetch(sessionUrl, { method: 'DELETE', headers: auth }).catch(() => undefined);
      abort.abort();
      resolveClosed({ code: 1000, reason: 'client closed the session' });
      return closed;
    },
  };
}

export interface StreamHandlers {
  frame(base64: string): void;
  id(id: string): void;
  heartbeat(): void;
}

/** Reads the SSE stream until the server's `close` event (resolves with it) or the end of the response. */
export async function readStream(sessionUrl: string, headers: Record<string, string>, signal: AbortSignal, on: StreamHandlers): Promise<CloseInfo> {
  const res = await fetch(`${sessionUrl}/stream`, { headers, signal });
  if (res.status !== 200 || !res.body) throw new Error(`stream answered ${res.status}`);
  const decoder = new TextDecoder();
  let buffered = '';
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) on.heartbeat();
        else fields.set(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart());
      }
      const data = fields.get('data');
      if (fields.has('id')) on.id(fields.get('id')!);
      if (fields.get('event') === 'close' && data !== undefined) return JSON.parse(data) as CloseInfo;
      if (data !== undefined) on.frame(data);
    }
  }
  throw new Error('stream ended without a close event');
}

/** Polls until an answer carries the close (resolves with it); each answer must follow on from the one before (`from`). */
export async function readPolls(sessionUrl: string, headers: Record<string, string>, signal: AbortSignal, frame: (base64: string) => void): Promise<CloseInfo> {
  let next = 1;
  for (;;) {
    const res = await fetch(`${sessionUrl}/poll`, { headers, signal });
    if (res.status !== 200) throw new Error(`poll answered ${res.status}`);
    const body = (await res.json()) as { from: number; frames: string[]; close?: CloseInfo };
    if (body.from !== next) throw new Error(`poll answer starts at frame ${body.from}, expected ${next}`);
    next += body.frames.length;
    for (const f of body.frames) frame(f);
    if (body.close) return body.close;
  }
}
