/**
 * What issue 13's end-to-end tests check behind an HTTP proxy (`./http-proxy`), the same for every
 * host of the hub: the extension in Chromium and in Firefox, and the dashboard's SharedWorker. A
 * view is read as a person reads it: the status line names the transport, prices move, and every
 * notification shows exactly once with no gap notice, including those published while the proxy
 * dropped everything.
 */
import { expect } from 'vitest';
import type { TransportName } from '../../lib/rpc/hub-api';
import type { HttpProxy } from './http-proxy';
import { poll } from './poll';
import { CONNECTIONS, publishNotifications, type ShowsPrices } from './publish';
import type { ServerHttp } from './server';

/** Open HTTP sessions by what reads them (`stream`, `poll`, or `none` between two polls). */
export const HTTP_SESSIONS = 'switchboard_http_sessions';

/** A page that shows the hub's status, prices and feed (a popup, a dashboard tab). */
export interface FallbackView extends ShowsPrices {
  status(): Promise<string>;
  /** Notification titles shown, newest first. */
  titles(): Promise<string[]>;
  /** Gap notices shown. */
  gaps(): Promise<string[]>;
}

/** The transport a status line names when connected (plain `Connected` is WebSocket), else null. */
export function transportIn(status: string): TransportName | null {
  const connected = /^Connected(?: \((streaming|long polling)\))?(?![ (])/.exec(status);
  if (!connected) return null;
  return (connected[1] as TransportName | undefined) ?? 'websocket';
}

/** Waits until every view says it is connected over `transport`. */
export async function waitForTransport(views: readonly FallbackView[], transport: TransportName, timeoutMs = 30_000): Promise<void> {
  for (const view of views) {
    let shown = '';
    await poll(
      () => `the status line to say connected over ${transport} (it says ${JSON.stringify(shown)})`,
      async () => transportIn((shown = await view.status())) === transport,
      { timeoutMs },
    );
  }
}

/** Waits until no view says it is connected (the proxy cut them). */
async function waitForDisconnected(views: readonly FallbackView[]): Promise<void> {
  for (const view of views) {
    let shown = '';
    await poll(
      () => `the status line to leave Connected (it says ${JSON.stringify(shown)})`,
      async () => transportIn((shown = await view.status())) === null,
    );
  }
}

/**
 * Expects the server to hold the hub's one connection over `transport`, and nothing over the others:
 * one connection for every view, whatever carries it.
 */
export async function expectOneConnection(server: ServerHttp, transport: TransportName): Promise<void> {
  const read = async (): Promise<string> => {
    const [ws, stream, poll, none] = await Promise.all([
      server.metric(CONNECTIONS),
      server.metric(HTTP_SESSIONS, { transport: 'stream' }),
      server.metric(HTTP_SESSIONS, { transport: 'poll' }),
      server.metric(HTTP_SESSIONS, { transport: 'none' }),
    ]);
    // A long-polling session is between two polls now and then: count it either way.
    return JSON.stringify({ websocket: ws, streaming: stream, 'long polling': poll + none });
  };
  const expected = JSON.stringify({ websocket: 0, streaming: 0, 'long polling': 0, [transport]: 1 });
  let seen = '';
  await poll(() => `one connection over ${transport}: ${expected} (the server holds ${seen})`, async () => (seen = await read()) === expected);
}

/** Every view shows exactly `published`, newest first, each once, with no gap notice. */
export async function expectFeedOnce(views: readonly FallbackView[], published: readonly string[]): Promise<void> {
  const newestFirst = [...published].reverse();
  for (const view of views) {
    await expect.poll(() => view.titles(), { timeout: 30_000, interval: 50 }).toEqual(newestFirst);
    expect(await view.gaps()).toEqual([]);
  }
}

/**
 * The proxy drops everything; while it does, `count` notifications are published; then it lets the
 * hub through again. Every view ends connected over `transport` with each notification once.
 */
export async function publishWhileDropped(
  context: { readonly server: ServerHttp; readonly proxy: HttpProxy; readonly user: string; readonly published: string[] },
  views: readonly FallbackView[],
  transport: TransportName,
  label: string,
  count = 5,
): Promise<void> {
  const { server, proxy, user, published } = context;
  proxy.unplug();
  await waitForDisconnected(views);
  for (let n = 1; n <= count; n += 1) await publishNotifications(server, user, published, `${label} ${n}`);
  proxy.plug();
  await waitForTransport(views, transport);
  await expectFeedOnce(views, published);
}
