/**
 * Scriptable fakes for the hub's platform (`HubPlatform`): a socket the test drives frame by frame (frames encoded
 * with the real codec, so the hub's decoding path is exercised), a socket factory that remembers
 * every socket it made, a network monitor the test switches, an in-memory settings store, a
 * logger, a badge and a notifier that record, and a fresh fake-indexeddb `IDBFactory` per platform. Timers
 * come from the globals, so `vi.useFakeTimers` controls them.
 */
// idb recognises IDB objects by the global classes; fake-indexeddb/auto installs them in Node.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { vi } from 'vitest';
import { createCodec } from '../../lib/wire/codec';
import type { ClientFrame, FrameOf, ServerFrame } from '../../lib/wire/protocol';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { DEFAULT_SETTINGS, type Settings } from '../../lib/rpc/settings';
import { createConnection, type Connection, type ConnectionOptions } from '../../worker/core/connection/connection';
import type { ConnectionState, Transition } from '../../worker/core/connection/state';
import type { OverlayItem } from '../../lib/rpc/hub-api';
import { createFakeNetwork, type FakeNetwork } from './fake-network';
import { nextTurn, poll } from './poll';
import {
  systemClock,
  type Badge,
  type HubPlatform,
  type Logger,
  type Notifier,
  type SettingsStore,
  type SocketFactory,
  type SocketLike,
} from '../../worker/core/platform';

const codec = createCodec();

/** WebSocket `readyState` values. */
export const ReadyState = { connecting: 0, open: 1, closing: 2, closed: 3 } as const;

export class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState: number = ReadyState.connecting;
  /** Frames the hub sent, decoded and validated. */
  readonly sent: ClientFrame[] = [];
  /** Set when the hub called `close()`. */
  closedByClient: { code: number | undefined; reason: string | undefined } | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: Uint8Array): void {
    if (this.readyState !== ReadyState.open) throw new Error('InvalidStateError: the socket is not open');
    const decoded = codec.decodeClientFrame(data);
    if (!decoded.ok) throw new Error(`The hub sent a bad frame: ${decoded.message}`);
    this.sent.push(decoded.frame);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = ReadyState.closed;
  }

  // ---- scripting ------------------------------------------------------------------------------

  /** The server accepts the TCP/WebSocket connection. */
  open(): this {
    this.readyState = ReadyState.open;
    this.onopen?.({});
    return this;
  }

  /** The server sends a frame. */
  receive(frame: ServerFrame): this {
    // `encode` returns a view into a shared buffer: hand over an exact copy.
    return this.receiveRaw(codec.encode(frame).slice().buffer);
  }

  /** The server sends anything at all (malformed bytes, text). */
  receiveRaw(data: unknown): this {
    this.onmessage?.({ data });
    return this;
  }

  /** Opens and completes the handshake with a `welcome`. */
  accept(overrides: Partial<FrameOf<ServerFrame, 'welcome'>> = {}): this {
    if (this.readyState === ReadyState.connecting) this.open();
    return this.receive(welcome(overrides));
  }

  /** The connection closes from the server's side (or the network's). */
  serverClose(code = 1006, reason = ''): this {
    this.readyState = ReadyState.closed;
    this.onclose?.({ code, reason });
    return this;
  }

  /** A transport error (browsers follow it with a close). */
  fail(): this {
    this.onerror?.({});
    return this;
  }

  /** Frames of one type the hub sent. */
  sentOf<T extends ClientFrame['t']>(t: T): Array<FrameOf<ClientFrame, T>> {
    return this.sent.filter((frame): frame is FrameOf<ClientFrame, T> => frame.t === t);
  }
}

export function welcome(overrides: Partial<FrameOf<ServerFrame, 'welcome'>> = {}): FrameOf<ServerFrame, 'welcome'> {
  return {
    t: 'welcome',
    v: PROTOCOL_VERSION,
    session: 'session-1',
    user: 'dev',
    heartbeatMs: 15_000,
    serverTime: Date.now(),
    maxFrameBytes: 65_536,
    ...overrides,
  };
}

export interface FakeSockets {
  readonly factory: SocketFactory;
  /** Every socket made, oldest first. */
  readonly all: FakeSocket[];
  /** The newest socket; throws if none was made. */
  last(): FakeSocket;
}

export function createFakeSockets(): FakeSockets {
  const all: FakeSocket[] = [];
  return {
    all,
    factory: (url) => {
      const socket = new FakeSocket(url);
      all.push(socket);
      return socket;
    },
    last() {
      const socket = all.at(-1);
      if (!socket) throw new Error('No socket was opened');
      return socket;
    },
  };
}

export { createFakeNetwork, type FakeNetwork } from './fake-network';

/** An unsigned JWT naming `sub`: the hub only reads the subject, the server verifies. */
export function jwtFor(sub: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, exp: 4_102_444_800 })}.c2ln`;
}

/** Settings that connect: the default server URL with a token (the default token is empty). */
export const TEST_SETTINGS: Readonly<Settings> = { serverUrl: DEFAULT_SETTINGS.serverUrl, token: 'test-token' };

export interface MemorySettingsStore extends SettingsStore {
  /** Every settings value saved, oldest first. */
  readonly saved: Settings[];
}

export function createMemorySettingsStore(initial: Settings = TEST_SETTINGS): MemorySettingsStore {
  let current = initial;
  const saved: Settings[] = [];
  return {
    saved,
    load: async () => current,
    save: async (settings) => {
      current = settings;
      saved.push(settings);
    },
  };
}

export interface LogEntry {
  readonly level: 'info' | 'warn';
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

export interface RecordingLogger extends Logger {
  readonly entries: LogEntry[];
  warnings(): LogEntry[];
}

export function createRecordingLogger(): RecordingLogger {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (message, data) => entries.push({ level: 'info', message, data }),
    warn: (message, data) => entries.push({ level: 'warn', message, data }),
    warnings: () => entries.filter((entry) => entry.level === 'warn'),
  };
}

export interface RecordingBadge extends Badge {
  /** Every count set, oldest first. */
  readonly counts: number[];
  /** The count shown now (`undefined` before the first). */
  current(): number | undefined;
}

export function createRecordingBadge(): RecordingBadge {
  const counts: number[] = [];
  return {
    counts,
    setUnread: (count) => {
      counts.push(count);
    },
    current: () => counts.at(-1),
  };
}

export interface RecordingNotifier extends Notifier {
  /** Every `show` call, oldest first. */
  readonly shown: Array<{ readonly item: OverlayItem; readonly systemNotifications: boolean }>;
  /** Every id passed to `hide`, oldest first. */
  readonly hidden: string[];
}

export function createRecordingNotifier(): RecordingNotifier {
  const shown: RecordingNotifier['shown'] = [];
  const hidden: string[] = [];
  return {
    shown,
    hidden,
    show: (item, options) => {
      shown.push({ item, systemNotifications: options.systemNotifications });
    },
    hide: (id) => {
      hidden.push(id);
    },
  };
}

export interface FakePlatform extends HubPlatform {
  readonly sockets: FakeSockets;
  readonly network: FakeNetwork;
  readonly settings: MemorySettingsStore;
  readonly badge: RecordingBadge;
  readonly notifier: RecordingNotifier;
  readonly log: RecordingLogger;
}

export interface FakePlatformOptions {
  readonly settings?: Settings;
  readonly random?: () => number;
  readonly online?: boolean;
  /** Default a fresh fake-indexeddb factory; pass one to reopen a hub on the same database. */
  readonly indexedDB?: IDBFactory;
}

/**
 * A platform for a hub under test: fake sockets, network and storage, a fresh IndexedDB, timers from the
 * (faked) globals, and `random` fixed at 0.5 unless given.
 */
export function createFakePlatform(options: FakePlatformOptions = {}): FakePlatform {
  const sockets = createFakeSockets();
  return {
    sockets,
    openSocket: sockets.factory,
    clock: systemClock,
    random: options.random ?? (() => 0.5),
    network: createFakeNetwork(options.online ?? true),
    settings: createMemorySettingsStore(options.settings),
    indexedDB: options.indexedDB ?? new IDBFactory(),
    badge: createRecordingBadge(),
    notifier: createRecordingNotifier(),
    log: createRecordingLogger(),
  };
}

/**
 * The fake timers every hub unit test uses. `setImmediate` and microtasks stay real: fake-indexeddb
 * needs `setImmediate`, and the hub's deliveries settle on microtasks.
 */
export function useHubFakeTimers(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
}

export interface ConnectionHarness extends FakePlatform {
  readonly connection: Connection;
  readonly transitions: Transition[];
  /** Frames the connection handed on (everything it does not handle itself). */
  readonly frames: ServerFrame[];
  /** The `s` of every state entered, in order. */
  states(): ConnectionState['s'][];
}

/**
 * A connection over a fake platform, configured at once (so it is already connecting unless the
 * settings or the network say otherwise). Backoff defaults to base 1 s, cap 30 s.
 */
export function startConnection(
  options: { settings?: Settings; random?: () => number; online?: boolean; connection?: Partial<ConnectionOptions> } = {},
): ConnectionHarness {
  const platform = createFakePlatform(options);
  const transitions: Transition[] = [];
  const frames: ServerFrame[] = [];
  const connection = createConnection({
    openSocket: platform.openSocket,
    clock: platform.clock,
    random: platform.random,
    network: platform.network,
    log: platform.log,
    options: {
      backoff: { baseMs: 1000, capMs: 30_000 },
      maxPingIntervalMs: 20_000,
      handshakeTimeoutMs: 10_000,
      ...options.connection,
    },
    onTransition: (change) => transitions.push(change),
    onFrame: (frame) => frames.push(frame),
  });
  connection.configure(options.settings ?? TEST_SETTINGS);
  return { ...platform, connection, transitions, frames, states: () => transitions.map((change) => change.to.s) };
}

/**
 * Waits until `probe` returns something other than `undefined`/`false`, and returns it: `poll`
 * re-checking after each real `setImmediate` turn (fake-indexeddb runs on those; the fake clock
 * does not move). Fails naming `what` after 4 s of real time, before the test's own timeout.
 */
export function waitUntil<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  return poll(what, probe, { pause: nextTurn, timeoutMs: 4_000 });
}
