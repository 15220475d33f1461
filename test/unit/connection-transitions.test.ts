/**
 * The connection's state machine as a table: each row scripts the fake sockets, the network and the
 * settings, then checks every state entered, the final state and how many sockets were opened.
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { OFFLINE_RECHECK_MS } from '../../worker/core/connection/connection';
import type { ConnectionState } from '../../worker/core/connection/state';
import { PING_GRACE_MS } from '../../worker/core/connection/heartbeat';
import { startConnection, TEST_SETTINGS, useHubFakeTimers, type ConnectionHarness } from '../support/fake-socket';

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
