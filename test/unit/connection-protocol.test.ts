/**
 * The connection on fake sockets, beyond its state table: the handshake, the heartbeat, bad input
 * from the server, and sending, refreshing the token and closing.
 */
import { encode } from '@msgpack/msgpack';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { createConnection } from '../../worker/core/connection/connection';
import { PING_GRACE_MS } from '../../worker/core/connection/heartbeat';
import { createFakePlatform, startConnection, TEST_SETTINGS, useHubFakeTimers, jwtFor } from '../support/fake-socket';

beforeEach(() => {
  useHubFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('handshake', () => {
  test('connects to the derived WebSocket URL with binary frames and sends hello once open', () => {
    const h = startConnection({ settings: { serverUrl: 'https://example.test:8443', token: 'abc' } });
    const socket = h.sockets.last();
    expect(socket.url).toBe('wss://example.test:8443/ws');
    expect(socket.binaryType).toBe('arraybuffer');
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(socket.sent).toEqual([{ t: 'hello', v: PROTOCOL_VERSION, token: 'abc', client: expect.any(String) }]);
  });

  test('the handshake timeout: nothing at d-1, the drop at d', () => {
    const h = startConnection({ connection: { handshakeTimeoutMs: 5000 } });
    h.sockets.last().open();
    vi.advanceTimersByTime(4999);
    expect(h.connection.state.s).toBe('connecting');
    vi.advanceTimersByTime(1);
    expect(h.connection.state).toMatchObject({ s: 'waiting', reason: 'handshake timeout' });
    expect(h.sockets.last().closedByClient?.reason).toBe('handshake timeout');
  });

  test('a welcome in time cancels the handshake timeout', () => {
    const h = startConnection({ connection: { handshakeTimeoutMs: 5000 } });
    h.sockets.last().accept({ heartbeatMs: 60_000 });
    vi.advanceTimersByTime(20_000);
    expect(h.connection.state.s).toBe('open');
  });

  test('frames before welcome are not handed on', () => {
    const h = startConnection();
    h.sockets.last().open().receive({ t: 'state', topic: 'prices:AAPL', value: 1, at: 1 });
    expect(h.frames).toEqual([]);
    h.sockets.last().receive({ t: 'welcome', v: 1, session: 's', user: 'u', heartbeatMs: 1000, serverTime: 0, maxFrameBytes: 2048 });
    h.sockets.last().receive({ t: 'state', topic: 'prices:AAPL', value: 1, at: 1 });
    expect(h.frames).toEqual([{ t: 'state', topic: 'prices:AAPL', value: 1, at: 1 }]);
  });
});

describe('heartbeat', () => {
  test('pings every min(heartbeatMs, maxPingIntervalMs): nothing at d-1, the ping at d', () => {
    const h = startConnection({ connection: { maxPingIntervalMs: 20_000 } });
    const socket = h.sockets.last().accept({ heartbeatMs: 25_000 });
    for (let i = 1; i <= 3; i++) {
      vi.advanceTimersByTime(19_999);
      expect(socket.sentOf('ping')).toHaveLength(i - 1);
      vi.advanceTimersByTime(1);
      expect(socket.sentOf('ping')).toHaveLength(i);
      socket.receive({ t: 'pong', at: Date.now() });
    }
    expect(socket.sentOf('ping')[0]).toEqual({ t: 'ping', at: expect.any(Number) });
  });

  test('a shorter server heartbeat sets the ping interval', () => {
    const h = startConnection();
    const socket = h.sockets.last().accept({ heartbeatMs: 5000 });
    vi.advanceTimersByTime(4999);
    expect(socket.sentOf('ping')).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(socket.sentOf('ping')).toHaveLength(1);
  });

  test('answers a server ping with a pong carrying its time', () => {
    const h = startConnection();
    const socket = h.sockets.last().accept();
    socket.receive({ t: 'ping', at: 1234 });
    expect(socket.sentOf('pong')).toEqual([{ t: 'pong', at: 1234 }]);
  });

  test('ping timeout: nothing at d-1, the drop at d, measured from the last frame', () => {
    const h = startConnection();
    const socket = h.sockets.last().accept({ heartbeatMs: 10_000 });
    const deadline = 2 * 10_000 + PING_GRACE_MS;
    vi.advanceTimersByTime(15_000);
    socket.receiveRaw(new Uint8Array([0xc1]).buffer); // even a bad frame proves the line alive
    vi.advanceTimersByTime(deadline - 1);
    expect(h.connection.state.s).toBe('open');
    vi.advanceTimersByTime(1);
    expect(h.connection.state).toMatchObject({ s: 'waiting', reason: 'ping timeout' });
    expect(socket.closedByClient).toEqual({ code: CloseCode.clientClosing, reason: 'ping timeout' });
  });

  test('no pings once the connection is gone', () => {
    const h = startConnection();
    const socket = h.sockets.last().accept({ heartbeatMs: 1000 });
    socket.serverClose(CloseCode.unauthorized);
    vi.advanceTimersByTime(60_000);
    expect(socket.sentOf('ping')).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('bad input from the server', () => {
  test.each([
    ['malformed msgpack', new Uint8Array([0xc1]).buffer],
    ['a text frame', '{"t":"state"}'],
    ['an unknown frame type', encode({ t: 'surprise', x: 1 }).slice().buffer],
    ['an invalid frame', encode({ t: 'state', topic: 42 }).slice().buffer],
    ['not a map', encode([1, 2, 3]).slice().buffer],
    ['a blob-like object', { size: 3 }],
    ['nothing', undefined],
  ])('%s is logged and ignored', (_name, data) => {
    const h = startConnection();
    const socket = h.sockets.last().accept();
    expect(() => socket.receiveRaw(data)).not.toThrow();
    expect(h.connection.state.s).toBe('open');
    expect(h.frames).toEqual([]);
    expect(h.log.warnings()).toHaveLength(1);
    expect(h.log.warnings()[0]?.message).toBe('ignored a bad frame from the server');
  });

  test('a socket factory that throws leads to a retry, not a crash', () => {
    const platform = createFakePlatform();
    const states: string[] = [];
    const connection = createConnection({
      ...platform,
      openSocket: () => {
        throw new SyntaxError('bad URL');
      },
      options: { backoff: { baseMs: 1000, capMs: 30_000 }, maxPingIntervalMs: 20_000, handshakeTimeoutMs: 10_000 },
      onTransition: ({ to }) => states.push(to.s),
      onFrame: () => {},
    });
    expect(() => connection.configure(TEST_SETTINGS)).not.toThrow();
    expect(connection.state).toMatchObject({ s: 'waiting', attempt: 1, reason: 'cannot open ws://127.0.0.1:8787/ws: bad URL' });
    vi.advanceTimersByTime(500);
    expect(states).toEqual(['connecting', 'waiting', 'connecting', 'waiting']);
    connection.close();
  });
});

describe('send and close', () => {
  test('send only works while open', () => {
    const h = startConnection();
    expect(h.connection.send({ t: 'unsubscribe', topic: 'news' })).toBe(false);
    h.sockets.last().accept();
    expect(h.connection.send({ t: 'unsubscribe', topic: 'news' })).toBe(true);
    expect(h.sockets.last().sentOf('unsubscribe')).toEqual([{ t: 'unsubscribe', topic: 'news' }]);
  });

  test('a new token for the same user is sent as refresh over the open socket, no reconnect', () => {
    const h = startConnection();
    const socket = h.sockets.last().accept({ user: 'alice' });
    h.connection.configure({ ...TEST_SETTINGS, token: jwtFor('alice') });
    expect(socket.sentOf('refresh')).toEqual([{ t: 'refresh', token: jwtFor('alice') }]);
    expect(h.connection.state).toMatchObject({ s: 'open', user: 'alice' });
    expect(h.sockets.all).toHaveLength(1);
  });

  test('a token for another user reconnects instead of refreshing', () => {
    const h = startConnection();
    const socket = h.sockets.last().accept({ user: 'alice' });
    h.connection.configure({ ...TEST_SETTINGS, token: jwtFor('bob') });
    expect(socket.sentOf('refresh')).toEqual([]);
    expect(h.connection.state).toEqual({ s: 'connecting', attempt: 0 });
    expect(h.sockets.all).toHaveLength(2);
  });

  test('close() closes the socket, cancels every timer and ignores the network from then on', () => {
    const h = startConnection();
    const socket = h.sockets.last().accept();
    h.connection.close();
    expect(h.connection.state).toEqual({ s: 'closed', reason: 'hub closed' });
    expect(socket.closedByClient).toEqual({ code: CloseCode.clientClosing, reason: 'hub closed' });
    expect(vi.getTimerCount()).toBe(0);
    h.network.set(false);
    h.network.set(true);
    h.connection.configure({ ...TEST_SETTINGS, token: 'new' });
    expect(h.connection.state.s).toBe('closed');
    expect(h.sockets.all).toHaveLength(1);
  });
});
