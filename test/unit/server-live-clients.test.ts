/**
 * The live clients and a connection's end, with a fake socket: a closed connection tells its owner
 * exactly once and leaves the heartbeat sweep, its `closed` settles whether it was asked for before
 * or after the socket closed, and `closeAll` settles only once every client's socket has closed.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { CloseCode } from '../../lib/wire/close-codes';
import { createClient, type Client, type ClientContext, type ClientOwner } from '../../server/clients/client';
import { createLiveClients } from '../../server/clients/live-clients';
import type { Ticket } from '../../server/limits/connection-caps';

/** A socket that closes only when the test says so (as a peer that is slow to answer the close). */
class FakeSocket extends EventEmitter {
  readyState = 1;
  binaryType = 'arraybuffer';
  readonly closes: number[] = [];
  close(code: number): void {
    this.closes.push(code);
    this.readyState = 2;
  }
  terminate(): void {
    this.closed(1006);
  }
  send(): void {}
  /** The peer's side of the close handshake is done: ws emits 'close' once. */
  closed(code = 1000): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit('close', code, Buffer.alloc(0));
  }
}

const ctx = {
  options: { heartbeatMs: 60_000, handshakeTimeoutMs: 60_000, shutdownGraceMs: 60_000, maxBacklogBytes: 1 << 20, now: Date.now },
  metrics: { connectionRefused() {}, handlerError() {}, frameRejected() {}, framesSent() {} },
  logger: pino({ level: 'silent' }),
} as unknown as ClientContext;

const ticket = (): Ticket & { released: number } => {
  const t = {
    released: 0,
    signIn: () => ({ ok: false }) as never,
    release() {
      t.released += 1;
    },
  };
  return t as unknown as Ticket & { released: number };
};

function connection(owner?: ClientOwner): { client: Client; ws: FakeSocket } {
  const ws = new FakeSocket();
  return { ws, client: createClient(ws as unknown as WebSocket, ctx, ticket(), owner) };
}

/** A turn of the event loop: every promise that could settle from what came before has. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('a connection closing', () => {
  test('tells its owner exactly once, and `closed` settles though nobody asked for it before', async () => {
    const released: Client[] = [];
    const { client, ws } = connection({ released: (c) => void released.push(c) });
    ws.closed();
    ws.closed(); // ws emits 'close' once; a second is ignored by the fake, and the owner heard one
    expect(released).toEqual([client]);
    await expect(client.closed).resolves.toBeUndefined();
  });

  test('`closed` asked for while open settles when the socket closes, not before', async () => {
    const { client, ws } = connection();
    let settled = false;
    void client.closed.then(() => (settled = true));
    client.drop(CloseCode.goingAway, 'bye');
    expect(ws.closes).toEqual([CloseCode.goingAway]);
    await turn();
    expect(settled).toBe(false);
    ws.closed();
    await client.closed;
    expect(settled).toBe(true);
  });
});

describe('live clients', () => {
  test('closeAll closes every client with 1001 and settles only once the last socket has closed', async () => {
    const live = createLiveClients({ heartbeatMs: 60_000 });
    const a = connection(live);
    const b = connection(live);
    live.add(a.client);
    live.add(b.client);
    let settled = false;
    const all = live.closeAll('server going away').then(() => (settled = true));
    expect(a.ws.closes).toEqual([CloseCode.goingAway]);
    expect(b.ws.closes).toEqual([CloseCode.goingAway]);
    a.ws.closed();
    await a.client.closed;
    await turn();
    expect(settled).toBe(false);
    b.ws.closed();
    await all;
    expect(settled).toBe(true);
    live.stop();
  });

  test('a closed client leaves: no longer counted, swept or closed again at shutdown', async () => {
    vi.useFakeTimers();
    const live = createLiveClients({ heartbeatMs: 1_000 });
    const gone = connection(live);
    const stays = connection(live);
    live.add(gone.client);
    live.add(stays.client);
    const swept = vi.spyOn(gone.client, 'heartbeat');
    expect(live.openCount()).toBe(2);
    gone.ws.closed();
    expect(live.openCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(swept).not.toHaveBeenCalled();
    const all = live.closeAll('server going away');
    expect(gone.ws.closes).toEqual([]);
    stays.ws.closed();
    await all;
    live.stop();
  });
});
