/**
 * A simulated browser profile for the outbox's integration tests: the hub core in Node with `ws`,
 * its own fake-indexeddb, a network monitor the test switches, and sockets that record every
 * `send` frame they carry (in the order the hub handed them over) and let the test cut the
 * connection as the network would, mid-flush.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import WebSocket from 'ws';
import type { AlertRule } from '../../lib/wire/alerts';
import { createCodec } from '../../lib/wire/codec';
import type { ClientFrame, FrameOf } from '../../lib/wire/protocol';
import type { AlertItem } from '../../lib/rpc/hub-api';
import { openHub, type Hub, type HubOptions, type HubSession } from '../../worker/core/hub';
import { systemClock, type SocketLike } from '../../worker/core/platform';
import { onCleanup, serve } from './cleanups';
import { createFakeNetwork, createMemorySettingsStore, createRecordingLogger, createRecordingNotifier, type FakeNetwork, type RecordingNotifier } from './fake-socket';
import type { TestServer } from './server';

const codec = createCodec();

export interface Profile {
  readonly indexedDB: IDBFactory;
  readonly network: FakeNetwork;
  readonly notifier: RecordingNotifier;
  /** Client message ids in the order the hub handed them to a socket. */
  readonly sent: string[];
  /** Every `send` frame by id (the last copy sent). */
  readonly frames: Map<string, FrameOf<ClientFrame, 'send'>>;
  /** Every socket the hub opened, oldest first. */
  readonly sockets: WebSocket[];
  /** Called after each `send` frame went to a socket. */
  onSend: (count: number) => void;
  /** Drops the current connection as a network failure would (no close frame); the hub reconnects. */
  cut(): void;
}

export function profile(online: boolean): Profile {
  const sockets: WebSocket[] = [];
  return {
    indexedDB: new IDBFactory(),
    network: createFakeNetwork(online),
    notifier: createRecordingNotifier(),
    sent: [],
    frames: new Map(),
    sockets,
    onSend: () => {},
    cut: () => sockets.at(-1)?.terminate(),
  };
}

/** A hub as the browser would run it, with sockets that record the `send` frames they carry. */
export async function startHub(
  server: TestServer,
  token: string,
  browser: Profile,
  options: Readonly<Partial<HubOptions>> = {},
): Promise<{ hub: Hub; session: HubSession }> {
  const hub = await openHub(
    {
      openSocket: (url): SocketLike => {
        const socket = new WebSocket(url);
        browser.sockets.push(socket);
        const send = socket.send.bind(socket);
        socket.send = ((data: Uint8Array) => {
          const frame = codec.decodeClientFrame(data);
          send(data);
          if (frame.ok && frame.frame.t === 'send') {
            browser.sent.push(frame.frame.id);
            browser.frames.set(frame.frame.id, frame.frame);
            browser.onSend(browser.sent.length);
          }
        }) as typeof socket.send;
        return socket;
      },
      clock: systemClock,
      random: Math.random,
      network: browser.network,
      settings: createMemorySettingsStore({ serverUrl: server.url, token }),
      indexedDB: browser.indexedDB,
      notifier: browser.notifier,
      log: createRecordingLogger(),
    },
    { backoffBaseMs: 50, backoffCapMs: 200, outbox: { ackTimeoutMs: 2000, retry: { baseMs: 50, capMs: 200 } }, ...options },
  );
  // Closing twice is harmless: a test may close it first.
  onCleanup(() => hub.close());
  return { hub, session: hub.openSession() };
}

/**
 * A server (closed after the test) with AAPL at 100, and ann's hub started against it in a new
 * browser profile that is online or not.
 */
export async function serveWithHub(online: boolean, options: Parameters<typeof serve>[0] = {}) {
  const server = await serve(options);
  await server.publishPrice('AAPL', 100);
  const token = await server.mintToken('ann');
  const browser = profile(online);
  const { hub, session } = await startHub(server, token, browser);
  return { server, token, browser, hub, session };
}

export const crossing = (price: number): AlertRule => ({ symbol: 'AAPL', condition: 'crossing', price, repeat: 'once' });

export async function createAll(session: HubSession, rules: readonly AlertRule[]): Promise<string[]> {
  const ids: string[] = [];
  for (const rule of rules) {
    const result = await session.createAlert(rule);
    if (!result.ok) throw new Error(result.error.message);
    ids.push(result.value.id);
  }
  return ids;
}

export const statesOf = async (session: HubSession, ids: readonly string[]): Promise<Array<AlertItem['state'] | undefined>> => {
  const list = await session.alerts();
  return ids.map((id) => list.find((item) => item.id === id)?.state);
};
