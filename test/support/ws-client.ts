/**
 * A small raw protocol client for tests: a real `ws` socket that decodes (and so validates) every
 * server frame with the shared codec, queues them, and lets a test await the next frame matching a
 * predicate or the close. Nothing here sleeps: every wait resolves on an event, and rejects at once
 * if the socket closes first, naming what did arrive.
 */
import { encode } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { createCodec } from '../../lib/wire/codec';
import { newMessageId } from '../../lib/wire/ids';
import { PROTOCOL_VERSION, type ClientFrame, type EventFrame, type FrameOf, type ServerFrame, type StreamPosition } from '../../lib/wire/protocol';
import { TEST_DEV_TOKEN } from './server';

export interface ConnectOptions {
  /** `Origin` header to send; none by default (like a non-browser client). */
  readonly origin?: string;
  /** `Host` header to send instead of the URL's. */
  readonly host?: string;
  /** Path of the endpoint. Default `/ws`. */
  readonly path?: string;
  /** Answer the server's `ping` with `pong` automatically. Default true; false makes a silent client. */
  readonly autoPong?: boolean;
  /** Local address to connect from, e.g. `127.0.0.2` to be another peer on loopback. Default the system's choice. */
  readonly localAddress?: string;
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

type ServerFrameType = ServerFrame['t'];

export interface TestClient {
  readonly ws: WebSocket;
  /** Every frame received so far, in order, consumed or not. */
  readonly received: readonly ServerFrame[];
  /** Encodes and sends a protocol frame. */
  send(frame: ClientFrame): void;
  /** msgpack-encodes any value and sends it as a binary frame (for invalid frames). */
  sendValue(value: unknown): void;
  /** Sends raw bytes (binary frame) or a string (text frame). */
  sendRaw(data: Uint8Array | string): void;
  /** Resolves with the first unconsumed frame matching `predicate` (now or later) and consumes it. */
  next(predicate?: (frame: ServerFrame) => boolean): Promise<ServerFrame>;
  /** `next` for one frame type, typed. */
  nextOf<T extends ServerFrameType>(type: T, predicate?: (frame: FrameOf<ServerFrame, T>) => boolean): Promise<FrameOf<ServerFrame, T>>;
  /** Resolves with the first frame received so far or later that matches, without consuming it. */
  until(predicate: (frame: ServerFrame) => boolean): Promise<ServerFrame>;
  /** Every stream `event` received so far (batches unpacked), in arrival order; of one topic if given. */
  events(topic?: string): EventFrame[];
  /** Resolves once an event of `topic` with `seq` (and `epoch`, if given) has arrived. */
  untilEvent(topic: string, seq: number, epoch?: string): Promise<EventFrame>;
  /**
   * Sends `subscribe` and resolves with the answer for that topic: `subscribed`, or the `error`
   * naming it (the answer is consumed; the events that follow stay in `received`).
   */
  subscribe(topic: string, options?: { readonly since?: StreamPosition; readonly last?: number }): Promise<FrameOf<ServerFrame, 'subscribed' | 'error'>>;
  /**
   * Sends a client message `send {id, kind, body}` (`id` default a fresh UUID) and resolves with the
   * `ack` for that id (consumed).
   */
  message(kind: string, body: unknown, id?: string): Promise<FrameOf<ServerFrame, 'ack'>>;
  /** Sends `hello` (default: current version, `TEST_DEV_TOKEN`) and resolves with the `welcome`. */
  hello(options?: { readonly v?: number; readonly token?: string }): Promise<FrameOf<ServerFrame, 'welcome'>>;
  /** Settles when the socket has closed, with the code and reason the server sent. */
  readonly closed: Promise<CloseInfo>;
  /** Closes from the client side (default 1000) and waits for the close to complete. */
  close(code?: number, reason?: string): Promise<CloseInfo>;
}

/** `http://host:port` or `ws://host:port/path` → the WebSocket URL. */
export function wsUrlOf(url: string, path = '/ws'): string {
  if (url.startsWith('ws://') || url.startsWith('wss://')) return url;
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === 'https:' ? 'wss:' : 'ws:';
  parsed.pathname = path;
  return parsed.toString();
}

/** The stream events a frame carries: itself, or a batch's. */
export function eventsIn(frame: ServerFrame): EventFrame[] {
  if (frame.t === 'event') return [frame];
  if (frame.t === 'batch') return frame.frames.filter((f): f is EventFrame => f.t === 'event');
  return [];
}

interface Waiter {
  readonly predicate: (frame: ServerFrame) => boolean;
  readonly resolve: (frame: ServerFrame) => void;
  readonly reject: (error: Error) => void;
}

const codec = createCodec();

/** Opens a connection (no `hello` yet). Rejects if the server refuses the upgrade; see `connectRefused`. */
export function connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(wsUrlOf(url, options.path), {
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    ...(options.host === undefined ? {} : { headers: { host: options.host } }),
    perMessageDeflate: false,
  });
  const received: ServerFrame[] = [];
  const unread: ServerFrame[] = [];
  let waiters: Waiter[] = [];
  let observers: Waiter[] = [];
  let failure: Error | undefined;

  const summary = () => received.map((f) => (f.t === 'error' ? `error(${f.code})` : f.t)).join(', ') || 'nothing';
  const failAll = (error: Error) => {
    failure ??= error;
    for (const waiter of [...waiters, ...observers]) waiter.reject(failure);
    waiters = [];
    observers = [];
  };

  const closed = new Promise<CloseInfo>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      failAll(new Error(`Socket closed (${code} ${reason.toString()}) before a matching frame arrived; received: ${summary()}`));
    });
  });

  ws.on('message', (data, isBinary) => {
    const decoded = codec.decodeServerFrame(isBinary ? (data as Buffer) : data.toString());
    if (!decoded.ok) return failAll(new Error(`Server sent an invalid frame: ${decoded.message}`));
    const frame = decoded.frame;
    received.push(frame);
    if (frame.t === 'ping' && options.autoPong !== false) client.send({ t: 'pong', at: frame.at });
    observers = observers.filter((observer) => {
      if (!observer.predicate(frame)) return true;
      observer.resolve(frame);
      return false;
    });
    const index = waiters.findIndex((w) => w.predicate(frame));
    if (index < 0) return void unread.push(frame);
    const [waiter] = waiters.splice(index, 1);
    waiter!.resolve(frame);
  });

  const client: TestClient = {
    ws,
    received,
    send: (frame) => ws.send(codec.encode(frame)),
    sendValue: (value) => ws.send(encode(value)),
    sendRaw: (data) => ws.send(data, { binary: typeof data !== 'string' }),
    next(predicate = () => true) {
      const index = unread.findIndex(predicate);
      if (index >= 0) return Promise.resolve(unread.splice(index, 1)[0]!);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => waiters.push({ predicate, resolve, reject }));
    },
    nextOf<T extends ServerFrameType>(type: T, predicate: (frame: FrameOf<ServerFrame, T>) => boolean = () => true) {
      return client.next((f) => f.t === type && predicate(f as FrameOf<ServerFrame, T>)) as Promise<FrameOf<ServerFrame, T>>;
    },
    until(predicate) {
      const seen = received.find(predicate);
      if (seen) return Promise.resolve(seen);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => observers.push({ predicate, resolve, reject }));
    },
    events(topic) {
      const all = received.flatMap(eventsIn);
      return topic === undefined ? all : all.filter((e) => e.topic === topic);
    },
    async untilEvent(topic, seq, epoch) {
      const matches = (e: EventFrame) => e.topic === topic && e.seq === seq && (epoch === undefined || e.epoch === epoch);
      const frame = await client.until((f) => eventsIn(f).some(matches));
      return eventsIn(frame).find(matches)!;
    },
    subscribe(topic, { since, last } = {}) {
      client.send({ t: 'subscribe', topic, ...(since ? { since } : {}), ...(last === undefined ? {} : { last }) });
      return client.next((f) => (f.t === 'subscribed' || f.t === 'error') && f.topic === topic) as Promise<FrameOf<ServerFrame, 'subscribed' | 'error'>>;
    },
    message(kind, body, id = newMessageId()) {
      client.send({ t: 'send', id, kind, body });
      return client.nextOf('ack', (f) => f.id === id);
    },
    async hello({ v = PROTOCOL_VERSION, token = TEST_DEV_TOKEN } = {}) {
      client.send({ t: 'hello', v, token, client: 'test' });
      const frame = await client.next((f) => f.t === 'welcome' || f.t === 'error');
      if (frame.t !== 'welcome') throw new Error(`Expected welcome, got ${JSON.stringify(frame)}`);
      return frame;
    },
    closed,
    close(code = 1000, reason = '') {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
      return closed;
    },
  };

  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`Upgrade refused with HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.on('error', (error) => {
      reject(error);
      failAll(error);
    });
  });
}

/** Connects and completes the handshake; resolves with the client and its `welcome`. */
export async function connectAndGreet(
  url: string,
  options: ConnectOptions & { readonly token?: string } = {},
): Promise<{ client: TestClient; welcome: FrameOf<ServerFrame, 'welcome'> }> {
  const client = await connect(url, options);
  const welcome = await client.hello(options.token === undefined ? {} : { token: options.token });
  return { client, welcome };
}

/**
 * How the server answers a connection that says `hello` as soon as it opens: `welcome` (served), or
 * the close code and reason when it closes first, with every frame received before it (none, when
 * nothing was served). A refused origin closes at once with 4003.
 */
export async function helloAnswer(
  url: string,
  options: ConnectOptions = {},
): Promise<{ readonly answer: 'welcome' } | { readonly answer: 'closed'; readonly close: CloseInfo; readonly received: readonly ServerFrame[] }> {
  const client = await connect(url, options);
  try {
    client.send({ t: 'hello', v: PROTOCOL_VERSION, token: TEST_DEV_TOKEN, client: 'test' });
  } catch {
    // Already closing: the close below is the answer.
  }
  const first = await Promise.race([client.next((f) => f.t === 'welcome').then(() => 'welcome' as const, () => 'closed' as const), client.closed.then(() => 'closed' as const)]);
  if (first === 'welcome') {
    await client.close();
    return { answer: 'welcome' };
  }
  return { answer: 'closed', close: await client.closed, received: client.received };
}

/** Attempts an upgrade the server is expected to refuse; resolves with the HTTP status and body. */
export function connectRefused(url: string, options: ConnectOptions = {}): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(wsUrlOf(url, options.path), options.origin === undefined ? {} : { origin: options.origin });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('The server accepted an upgrade it was expected to refuse'));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
    // Also catches the error `terminate()` raises on a socket still connecting.
    ws.on('error', reject);
  });
}
