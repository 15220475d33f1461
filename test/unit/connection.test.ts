import { encode } from '@msgpack/msgpack';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { createConnection, OFFLINE_RECHECK_MS } from '../../worker/core/connection/connection';
import type { ConnectionState } from '../../worker/core/connection/state';
import { PING_GRACE_MS } from '../../worker/core/connection/heartbeat';
import { createFakePlatform, startConnection, TEST_SETTINGS, useHubFakeTimers, type ConnectionHarness, jwtFor } from '../support/fake-socket';

beforeEach(() => {
  useHubFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

interface Row {
  readonly name: string;
  readonly settings?: typeof TEST_SETTINGS;
  readonly online?: boolean;
  readonly script: (h: ConnectionHarness) => void;
  /** Every state entered, in order. */
  readonly states: ConnectionState['s'][];
  readonly final: Partial<Record<string, unknown>>;
  /** How many sockets were opened in all. */
  readonly sockets: number;
}

const rows: Row[] = [
  {
    name: 'idle → connecting → open on a valid welcome',
    script: (h) => h.sockets.last().accept({ session: 's-42', user: 'alice' }),
    states: ['connecting', 'open'],
    final: { s: 'open', attempt: 0, session: 's-42', user: 'alice' },
    sockets: 1,
  },
  {
    name: 'open → waiting on close 1006',
    script: (h) => h.sockets.last().accept().serverClose(CloseCode.abnormal),
    states: ['connecting', 'open', 'waiting'],
    final: { s: 'waiting', attempt: 1, reason: 'connection lost' },
    sockets: 1,
  },
  {
    name: 'connecting → closed on 4001, keeping the server error as the reason',
    script: (h) =>
      h.sockets
        .last()
        .open()
        .receive({ t: 'error', code: 'unsupported-version', message: 'unsupported protocol version' })
        .serverClose(CloseCode.unsupportedVersion, 'bye'),
    states: ['connecting', 'closed'],
    final: { s: 'closed', reason: 'unsupported protocol version' },
    sockets: 1,
  },
  {
    name: 'connecting → closed on 4010 with the table reason when the server gives none',
    script: (h) => h.sockets.last().open().serverClose(CloseCode.unauthorized),
    states: ['connecting', 'closed'],
    final: { s: 'closed', reason: 'access token refused' },
    sockets: 1,
  },
  {
    name: 'open → closed on 4010 with the close frame reason text',
    script: (h) => h.sockets.last().accept().serverClose(CloseCode.unauthorized, 'token revoked'),
    states: ['connecting', 'open', 'closed'],
    final: { s: 'closed', reason: 'token revoked' },
    sockets: 1,
  },
  {
    name: 'an unknown close code reconnects',
    script: (h) => h.sockets.last().accept().serverClose(4999),
    states: ['connecting', 'open', 'waiting'],
    final: { s: 'waiting', attempt: 1, reason: 'closed (4999)' },
    sockets: 1,
  },
  {
    name: 'open → offline on network loss, no retries',
    script: (h) => {
      h.sockets.last().accept();
      h.network.set(false);
      vi.advanceTimersByTime(120_000);
    },
    states: ['connecting', 'open', 'offline'],
    final: { s: 'offline' },
    sockets: 1,
  },
  {
    name: 'waiting → offline on network loss, the retry cancelled',
    script: (h) => {
      h.sockets.last().serverClose(CloseCode.abnormal);
      h.network.set(false);
      vi.advanceTimersByTime(120_000);
    },
    states: ['connecting', 'waiting', 'offline'],
    final: { s: 'offline' },
    sockets: 1,
  },
  {
    name: 'offline → connecting at once (attempt 0) when the network is back',
    script: (h) => {
      h.sockets.last().accept();
      h.network.set(false);
      h.network.set(true);
    },
    states: ['connecting', 'open', 'offline', 'connecting'],
    final: { s: 'connecting', attempt: 0 },
    sockets: 2,
  },
  {
    name: 'offline → connecting on a recheck when the monitor never reported the network back, not before',
    script: (h) => {
      h.sockets.last().accept();
      h.network.set(false);
      h.network.setUnreported(true);
      vi.advanceTimersByTime(OFFLINE_RECHECK_MS - 1);
      expect(h.sockets.all).toHaveLength(1);
      vi.advanceTimersByTime(1);
    },
    states: ['connecting', 'open', 'offline', 'connecting'],
    final: { s: 'connecting', attempt: 0 },
    sockets: 2,
  },
  {
    name: 'starting offline waits for the network',
    online: false,
    script: (h) => h.network.set(true),
    states: ['offline', 'connecting'],
    final: { s: 'connecting', attempt: 0 },
    sockets: 1,
  },
  {
    name: 'open → waiting on ping timeout',
    script: (h) => {
      h.sockets.last().accept({ heartbeatMs: 15_000 });
      vi.advanceTimersByTime(2 * 15_000 + PING_GRACE_MS);
    },
    states: ['connecting', 'open', 'waiting'],
    final: { s: 'waiting', attempt: 1, reason: 'ping timeout' },
    sockets: 1,
  },
  {
    name: 'connecting → waiting on handshake timeout',
    script: (h) => {
      h.sockets.last().open();
      vi.advanceTimersByTime(10_000);
    },
    states: ['connecting', 'waiting'],
    final: { s: 'waiting', attempt: 1, reason: 'handshake timeout' },
    sockets: 1,
  },
  {
    name: 'a changed token reconnects at once with attempt 0',
    script: (h) => {
      h.sockets.last().accept();
      h.connection.configure({ ...TEST_SETTINGS, token: 'other-token' });
    },
    states: ['connecting', 'open', 'connecting'],
    final: { s: 'connecting', attempt: 0 },
    sockets: 2,
  },
  {
    name: 'a changed server URL reconnects at once, even while waiting',
    script: (h) => {
      h.sockets.last().serverClose(CloseCode.abnormal);
      h.connection.configure({ ...TEST_SETTINGS, serverUrl: 'https://example.test' });
    },
    states: ['connecting', 'waiting', 'connecting'],
    final: { s: 'connecting', attempt: 0 },
    sockets: 2,
  },
  {
    name: 'the same settings again change nothing while open',
    script: (h) => {
      h.sockets.last().accept();
      h.connection.configure({ ...TEST_SETTINGS });
    },
    states: ['connecting', 'open'],
    final: { s: 'open' },
    sockets: 1,
  },
  {
    name: 'saving settings again after a refused token tries again',
    script: (h) => {
      h.sockets.last().open().serverClose(CloseCode.unauthorized);
      h.connection.configure({ ...TEST_SETTINGS });
    },
    states: ['connecting', 'closed', 'connecting'],
    final: { s: 'connecting', attempt: 0 },
    sockets: 2,
  },
  {
    name: 'no token → idle with the reason',
    settings: { ...TEST_SETTINGS, token: '' },
    script: () => {},
    states: ['idle'],
    final: { s: 'idle', reason: 'no access token: set one in Options' },
    sockets: 0,
  },
  {
    name: 'an invalid URL → idle with the reason',
    settings: { ...TEST_SETTINGS, serverUrl: 'ftp://example.test' },
    script: () => {},
    states: ['idle'],
    final: { s: 'idle', reason: 'Server URL must start with http://, https://, ws:// or wss://' },
    sockets: 0,
  },
  {
    name: 'a welcome with another protocol version → closed',
    script: (h) => h.sockets.last().accept({ v: PROTOCOL_VERSION + 1 }),
    states: ['connecting', 'closed'],
    final: { s: 'closed', reason: `server speaks protocol v${PROTOCOL_VERSION + 1}, the hub v${PROTOCOL_VERSION}` },
    sockets: 1,
  },
  {
    name: 'stale socket events are ignored',
    script: (h) => {
      const old = h.sockets.last().accept();
      old.serverClose(CloseCode.abnormal);
      vi.runOnlyPendingTimers();
      old.receive({ t: 'welcome', v: 1, session: 'stale', user: 'x', heartbeatMs: 1000, serverTime: 0, maxFrameBytes: 2048 });
      old.serverClose(CloseCode.unauthorized);
      old.fail();
    },
    states: ['connecting', 'open', 'waiting', 'connecting'],
    final: { s: 'connecting', attempt: 1 },
    sockets: 2,
  },
];

test.each(rows)('$name', (row) => {
  const h = startConnection({ settings: row.settings, online: row.online });
  row.script(h);
  expect(h.states()).toEqual(row.states);
  expect(h.connection.state).toMatchObject(row.final);
  expect(h.sockets.all).toHaveLength(row.sockets);
  // Every socket the hub let go of was closed by it or by the server.
  for (const socket of h.sockets.all.slice(0, -1)) expect(socket.readyState).toBe(3);
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
