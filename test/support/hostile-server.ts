/**
 * A server that speaks just enough protocol v1 to serve the hub, and sends whatever the test scripts,
 * hostile values included, for end-to-end tests of what a buggy or hostile server can do to a view.
 * It is a raw `ws` server in the test, not the product server with a backdoor: `hello` gets a
 * `welcome` for `user`, each stream topic is answered as a fresh subscription carrying the events
 * the test gave it, `alerts:<user>` and `prices:*` get the test's values, and pings are answered.
 * It checks no token and no Origin.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { createCodec } from '../../lib/wire/codec';
import { PROTOCOL_VERSION, type ServerFrame } from '../../lib/wire/protocol';

/** What the server sends when the hub subscribes: events per stream topic (seq from 1), state values per topic. */
export interface HostileScript {
  readonly user: string;
  /** Per stream topic, the data and `at` of its events, oldest first. */
  readonly streams: Readonly<Record<string, ReadonlyArray<{ readonly data: unknown; readonly at: number }>>>;
  /** Per state topic, the `state` frames sent when it is subscribed (for `prices:*`, any `prices:SYM` frames). */
  readonly states: Readonly<Record<string, readonly ServerFrame[]>>;
}

export interface HostileServer {
  /** `http://127.0.0.1:<port>`: what goes into the extension's Server URL. */
  readonly url: string;
  /** WebSocket connections accepted so far. */
  connections(): number;
  /** Topics the hub subscribed, in order. */
  readonly subscribed: string[];
  close(): Promise<void>;
}

const codec = createCodec();

export async function startHostileServer(script: HostileScript): Promise<HostileServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  let connections = 0;
  const subscribed: string[] = [];

  const serve = (ws: WebSocket): void => {
    connections += 1;
    // `encode` returns a view into a buffer it reuses: send a copy.
    const send = (frame: ServerFrame): void => ws.send(codec.encode(frame).slice());
    ws.on('message', (data: Buffer) => {
      const decoded = codec.decodeClientFrame(data);
      if (!decoded.ok) return;
      const frame = decoded.frame;
      switch (frame.t) {
        case 'hello':
          return send({ t: 'welcome', v: PROTOCOL_VERSION, session: `hostile-${connections}`, user: script.user, heartbeatMs: 15_000, serverTime: Date.now(), maxFrameBytes: 65_536 });
        case 'ping':
          return send({ t: 'pong', at: frame.at });
        case 'subscribe': {
          subscribed.push(frame.topic);
          const events = script.streams[frame.topic];
          if (events) {
            const head = { epoch: 'hostile-1', seq: events.length };
            send({ t: 'subscribed', topic: frame.topic, mode: 'stream', recovery: 'fresh', position: head, ...(events.length > 0 ? { from: 1 } : {}) });
            events.forEach((event, i) => send({ t: 'event', topic: frame.topic, epoch: head.epoch, seq: i + 1, data: event.data, at: event.at }));
            return;
          }
          send({ t: 'subscribed', topic: frame.topic, mode: 'state' });
          for (const state of script.states[frame.topic] ?? []) send(state);
          return;
        }
        default:
          return;
      }
    });
  };
  wss.on('connection', serve);

  const { port } = wss.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    subscribed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
