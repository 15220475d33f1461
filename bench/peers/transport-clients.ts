/**
 * Bench clients for the transports that are not a plain WebSocket, handing stream events to the
 * bench as `systems.ts`'s clients do:
 *
 * - **Switchboard's HTTP transports** (`/rt/`, README "HTTP transports"): a session, `hello` and
 *   `subscribe` posted as msgpack in base64, the frames read from the SSE stream or by long polling
 *   with the test client's readers (`test/support/http-client.ts`), decoded with the shared codec.
 * - **Socket.IO 4's polling transport**: `socket.io-client` with `transports: ['polling']`, the
 *   token in the handshake `auth`, `subscribe {topic}` as the peer server expects.
 */
import { io } from 'socket.io-client';
import { createCodec } from '../../lib/wire/codec';
import { PROTOCOL_VERSION, type ClientFrame, type ServerFrame } from '../../lib/wire/protocol';
import { createSession, readPolls, readStream, type HttpTransport } from '../../test/support/http-client';
import type { BenchClient, ClientHandlers } from './systems';
import { SESSION_HEADER } from '../../lib/wire/http-transport';

const codec = createCodec();

/**
 * The life of one bench client, the same on every transport: it resolves once its `topics` are
 * all subscribed; a failure before that rejects, after it is reported once as `lost` (unless the
 * bench closed it), and either way `stop` ends the connection.
 */
function lifecycle(topics: readonly string[], on: ClientHandlers, stop: () => void, resolve: (client: BenchClient) => void, reject: (error: Error) => void) {
  let wanted = true;
  let ready = false;
  let waiting = topics.length;
  const client: BenchClient = {
    close() {
      wanted = false;
      stop();
    },
  };
  const done = (): void => {
    ready = true;
    resolve(client);
  };
  return {
    wanted: () => wanted,
    fail(error: Error): void {
      if (!ready) reject(error);
      else if (wanted) on.lost(error.message);
      wanted = false;
      stop();
    },
    /** The connection is up: done at once when there is nothing to subscribe. */
    connected: (): boolean => (topics.length === 0 ? (done(), true) : false),
    subscribed(): void {
      if (--waiting === 0) done();
    },
  };
}

/** A Switchboard client over `/rt/` at `url` (`http://host:port`), subscribed to `topics`; resolves once all are subscribed. */
export async function switchboardHttpClient(url: string, transport: HttpTransport, token: string, topics: readonly string[], on: ClientHandlers): Promise<BenchClient> {
  const { session, secret } = await createSession(url);
  const sessionUrl = `${url}/rt/sessions/${session}`;
  const headers = { [SESSION_HEADER]: secret };
  const abort = new AbortController();
  // Frames go out one POST after the other, in order, as the hub sends them.
  let posting: Promise<void> = Promise.resolve();
  return new Promise<BenchClient>((resolve, reject) => {
    const { wanted, fail, connected, subscribed } = lifecycle(topics, on, () => abort.abort(), resolve, reject);
    const send = (frame: ClientFrame): void => {
      const body = JSON.stringify([Buffer.from(codec.encode(frame)).toString('base64')]);
      posting = posting.then(async () => {
        const res = await fetch(`${sessionUrl}/frames`, { method: 'POST', headers, body, signal: abort.signal });
        await res.arrayBuffer();
        if (res.status !== 204) throw new Error(`POST frames answered ${res.status}`);
      });
      posting.catch((error: Error) => wanted() && fail(error));
    };
    const handle = (frame: ServerFrame): void => {
      switch (frame.t) {
        case 'event':
          return on.event(frame.seq, (frame.data as { title: string }).title);
        case 'batch':
          for (const inner of frame.frames) handle(inner);
          return;
        case 'ping':
          return send({ t: 'pong', at: frame.at });
        case 'welcome':
          if (connected()) return;
          for (const topic of topics) send({ t: 'subscribe', topic });
          return;
        case 'subscribed':
          return subscribed();
        case 'error':
          return fail(new Error(`error ${frame.code}: ${frame.message}`));
      }
    };
    const receive = (base64: string): void => {
      const decoded = codec.decodeServerFrame(Buffer.from(base64, 'base64'));
      if (!decoded.ok) return fail(new Error(`invalid frame: ${decoded.message}`));
      handle(decoded.frame);
    };
    const reading =
      transport === 'stream'
        ? readStream(sessionUrl, headers, abort.signal, { frame: receive, id: () => undefined, heartbeat: () => undefined })
        : readPolls(sessionUrl, headers, abort.signal, receive);
    reading.then(
      (close) => fail(new Error(`closed ${close.code} ${close.reason}`)),
      (error: Error) => fail(error),
    );
    send({ t: 'hello', v: PROTOCOL_VERSION, token });
  });
}

/** A Socket.IO 4 client at `url` on the polling transport only, subscribed to `topics`. */
export function socketIoPollingClient(url: string, token: string, topics: readonly string[], on: ClientHandlers): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['polling'], auth: { token }, forceNew: true, reconnection: false });
    const { wanted, fail, connected, subscribed } = lifecycle(topics, on, () => socket.disconnect(), resolve, reject);
    socket.on('connect', () => {
      if (connected()) return;
      for (const topic of topics) socket.emit('subscribe', { topic });
    });
    socket.on('subscribed', subscribed);
    socket.on('event', (payload: { seq: number; data: { title: string } }) => on.event(payload.seq, payload.data.title));
    socket.on('connect_error', (error) => fail(error));
    socket.on('disconnect', (reason) => {
      if (wanted()) fail(new Error(`disconnected: ${reason}`));
    });
  });
}
