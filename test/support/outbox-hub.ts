/**
 * The outbox tests' side of the hub: a hub over a fake platform that starts offline, with a 5 s ack
 * timeout and retries from 1 s, and helpers to go online and wait for `send` frames. Hubs open
 * through `openTestHub`: call `useHubHarness()` in the test file.
 */
import type { AlertRule } from '../../lib/wire/alerts';
import type { ClientFrame, FrameOf } from '../../lib/wire/protocol';
import type { HubOptions } from '../../worker/core/hub';
import { createFakePlatform, waitUntil, type FakePlatform, type FakeSocket } from './fake-socket';
import { openTestHub } from './hub-harness';

export const ACK_TIMEOUT = 5000;
/** Retry delays with `random` 0.5: half the ceiling, so 500 ms, 1000 ms, 2000 ms, ... */
const RETRY_BASE = 1000;

export const rule = (price: number): AlertRule => ({ symbol: 'AAPL', condition: 'above', price, repeat: 'once' });

export async function start(platform: FakePlatform = createFakePlatform({ online: false }), outbox: Partial<HubOptions['outbox']> = {}) {
  const hub = await openTestHub(platform, {
    backoffBaseMs: 1000,
    outbox: { ackTimeoutMs: ACK_TIMEOUT, retry: { baseMs: RETRY_BASE, capMs: 60_000 }, ...outbox },
  });
  return { platform, hub, session: hub.openSession(), socket: () => platform.sockets.last() };
}

/** Comes online and completes the handshake as `dev`. */
export function goOnline(platform: FakePlatform): FakeSocket {
  platform.network.set(true);
  return platform.sockets.last().accept({ user: 'dev' });
}

export const sends = (socket: FakeSocket) => socket.sentOf('send');
export const allSends = (platform: FakePlatform) => platform.sockets.all.flatMap(sends);

export async function sentCount(socket: FakeSocket, n: number): Promise<Array<FrameOf<ClientFrame, 'send'>>> {
  return waitUntil(`${n} send frames`, () => sends(socket).length === n && sends(socket));
}

export async function createThree(session: Awaited<ReturnType<typeof start>>['session']): Promise<string[]> {
  const ids: string[] = [];
  for (const price of [101, 102, 103]) {
    const result = await session.createAlert(rule(price));
    if (!result.ok) throw new Error(result.error.message);
    ids.push(result.value.id);
  }
  return ids;
}
