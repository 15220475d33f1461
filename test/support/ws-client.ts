/**
 * A small raw protocol client for tests: a real `ws` socket that decodes (and so validates) every
 * server frame with the shared codec into a frame inbox (`frame-inbox.ts`: queued, awaited by
 * predicate, never by sleeping; every wait rejects at once if the socket closes first, naming what
 * did arrive), plus ways to send invalid frames.
 */
import { encode } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { createCodec } from '../../lib/wire/codec';
import { PROTOCOL_VERSION, type FrameOf, type ServerFrame } from '../../lib/wire/protocol';
import { clientSide, createFrameInbox, type CloseInfo, type ContractClient } from './frame-inbox';
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

export { eventsIn, type CloseInfo } from './frame-inbox';

export interface TestClient extends ContractClient {
  readonly ws: WebSocket;
  /** msgpack-encodes any value and sends it as a binary frame (for invalid frames). */
  sendValue(value: unknown): void;
  /** Sends raw bytes (binary frame) or a string (text frame). */
  sendRaw(data: Uint8Array | string): void;
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

const codec = createCodec();

/** Opens a connection (no `hello` yet). Rejects if the server refuses the upgrade; see `connectRefused`. */
export function connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(wsUrlOf(url, options.path), {
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    ...(options.host === undefined ? {} : { headers: { host: options.host } }),
    perMessageDeflate: false,
  });
  const inbox = createFrameInbox((frame) => ws.send(codec.encode(frame)), { autoPong: options.autoPong !== false });

  const closed = new Promise<CloseInfo>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      inbox.fail(new Error(`Socket closed (${code} ${reason.toString()}) before a matching frame arrived; received: ${inbox.summary()}`));
    });
  });

  ws.on('message', (data, isBinary) => {
    const decoded = codec.decodeServerFrame(isBinary ? (data as Buffer) : data.toString());
    if (!decoded.ok) return inbox.fail(new Error(`Server sent an invalid frame: ${decoded.message}`));
    inbox.push(decoded.frame);
  });

  const client: TestClient = {
    ...clientSide(inbox),
    ws,
    sendValue: (value) => ws.send(encode(value)),
    sendRaw: (data) => ws.send(data, { binary: typeof data !== 'string' }),
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
      inbox.fail(error);
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
