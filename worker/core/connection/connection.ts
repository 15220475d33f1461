/**
 * The hub's one WebSocket as a state machine. The state is a single value carrying its data; every
 * change goes through `transition()`, which reports `{from, to}`; every way out of an attempt (or a
 * wait) goes through `drop(reason, next)`, which frees that attempt's socket and timers in one call
 * and then decides what comes next. Socket callbacks check their attempt's scope id, so events
 * from a socket the hub has already let go of are ignored.
 *
 * `drop` takes a small union instead of the usual `reconnect` boolean because "what next" has five
 * answers here: retry with backoff, reconnect at once, stop, offline, or idle.
 *
 * The state union and the pure rules read from it live in `./state.ts`; what one attempt does on
 * its socket (handshake, heartbeat, frames) in `./attempt.ts`.
 */
import { createCodec, type Codec } from '../../../lib/wire/codec';
import type { ClientFrame, ServerFrame } from '../../../lib/wire/protocol';
import type { Settings } from '../../../lib/rpc/settings';
import { backoffDelay, type BackoffOptions } from '../../../lib/backoff';
import { closeRule } from '../../../lib/wire/close-codes';
import { attachAttempt, attemptTarget } from './attempt';
import { closeQuietly, openBinarySocket, sendFrame } from './socket';
import type { Clock, Logger, NetworkMonitor, SocketFactory, SocketLike } from '../platform';
import { createScope, type Scope } from '../scope';
import { settingsEffect, type ConnectionState, type Transition } from './state';

/**
 * While offline, how often the connection reads the network monitor itself. The monitor should
 * report the way back, but a missed report would leave the hub offline for good with the network
 * up (seen once in Chromium with the network emulated offline): this bounds that to a few seconds.
 */
export const OFFLINE_RECHECK_MS = 5000;

/** Where `drop()` leaves the connection. */
type Next = 'retry' | 'now' | 'stop' | 'offline' | 'idle';

export interface ConnectionOptions {
  readonly backoff: BackoffOptions;
  /** The backoff after a close the table marks `busy` (1013: the server is over capacity). Default: `backoff`. */
  readonly busyBackoff?: BackoffOptions;
  /** Upper bound of the client ping interval, in ms. */
  readonly maxPingIntervalMs: number;
  /** How long the socket may take to open and the server to answer `welcome`, in ms. */
  readonly handshakeTimeoutMs: number;
}

export interface ConnectionDeps {
  readonly openSocket: SocketFactory;
  readonly clock: Clock;
  readonly random: () => number;
  readonly network: NetworkMonitor;
  readonly log: Logger;
  readonly options: ConnectionOptions;
  /** Default: a codec with the protocol's default limits. */
  readonly codec?: Codec;
  /** Every state change, after it happened. */
  onTransition(change: Transition): void;
  /** Valid frames received while open that the connection does not handle itself. */
  onFrame(frame: ServerFrame): void;
}

export interface Connection {
  readonly state: ConnectionState;
  /** Applies settings; (re)connects at once when they changed or nothing is connected. */
  configure(settings: Settings): void;
  /**
   * Takes settings the server refused for good before (remembered across a restart) without
   * connecting: `closed` with that refusal until the next `configure`. Only from `idle`.
   */
  configureRefused(settings: Settings, refusal: { readonly code: number; readonly reason: string }): void;
  /** Sends a frame if the connection is open; returns whether it was handed to the socket. */
  send(frame: ClientFrame): boolean;
  /** Closes for good: the socket, every timer and the network watch. */
  close(): void;
}

/** Creates the connection in `idle`; the first `configure()` starts it. */
export function createConnection(deps: ConnectionDeps): Connection {
  const { clock, log, options } = deps;
  const codec = deps.codec ?? createCodec();
  let state: ConnectionState = { s: 'idle', reason: 'not configured' };
  let settings: Settings | null = null;
  /** Resources of the current attempt (socket and timers) or of the current wait (its timer). */
  let live: { readonly scope: Scope; readonly socket: SocketLike | null } | null = null;
  let ended = false;

  function transition(to: ConnectionState): void {
    const from = state;
    state = to;
    log.info(`connection ${from.s} → ${to.s}`, { ...to });
    deps.onTransition({ from, to });
  }

  /** Frees what the current attempt or wait holds; the socket is closed with `reason`. */
  function release(reason: string): void {
    const old = live;
    live = null;
    if (!old) return;
    old.scope.dispose();
    if (old.socket) closeQuietly(old.socket, reason);
  }

  /** `code`: the close code, when the socket's close is what ended the attempt. */
  function drop(reason: string, next: Next, code?: number): void {
    const from = state;
    release(reason);
    switch (next) {
      case 'retry': {
        // A failed attempt n makes the next one n + 1; an open connection resets the count.
        const busy = code !== undefined && closeRule(code).busy === true;
        return wait(from.s === 'connecting' ? from.attempt + 1 : 1, reason, busy ? (options.busyBackoff ?? options.backoff) : options.backoff);
      }
      case 'now':
        return connect(0);
      case 'stop':
        return transition({ s: 'closed', reason, ...(code === undefined ? {} : { code }) });
      case 'offline':
        return goOffline();
      case 'idle':
        return transition({ s: 'idle', reason });
    }
  }

  function wait(attempt: number, reason: string, backoff: BackoffOptions): void {
    const delay = backoffDelay(attempt - 1, backoff, deps.random);
    const scope = createScope(clock);
    live = { scope, socket: null };
    scope.after(delay, () => connect(attempt));
    transition({ s: 'waiting', attempt, retryAt: clock.now() + delay, reason });
  }

  /** `offline` until the monitor reports the network back, or a recheck finds it back. */
  function goOffline(): void {
    const scope = createScope(clock);
    live = { scope, socket: null };
    const recheck = (): void => {
      if (deps.network.isOnline()) connect(0);
      else scope.after(OFFLINE_RECHECK_MS, recheck);
    };
    scope.after(OFFLINE_RECHECK_MS, recheck);
    transition({ s: 'offline' });
  }

  function connect(attempt: number): void {
    release('reconnecting');
    if (ended) return;
    if (!deps.network.isOnline()) return goOffline();
    const target = attemptTarget(settings);
    if (!target.ok) return transition({ s: 'idle', reason: target.reason });

    const scope = createScope(clock);
    live = { scope, socket: null };
    transition({ s: 'connecting', attempt });
    const opened = openBinarySocket(deps.openSocket, target.url);
    if (!opened.ok) return drop(opened.reason, 'retry');
    const { socket } = opened;
    live = { scope, socket };
    attachAttempt({
      scope,
      socket,
      token: target.token,
      clock,
      codec,
      log,
      timing: options,
      isCurrent: () => live?.scope.id === scope.id,
      isOpen: () => state.s === 'open',
      opened: (welcome) => {
        const transport = socket.transport && socket.transport !== 'websocket' ? { transport: socket.transport } : {};
        transition({ s: 'open', attempt, session: welcome.session, user: welcome.user, since: clock.now(), ...transport });
      },
      drop,
      onFrame: (frame) => deps.onFrame(frame),
    });
  }

  const unwatchNetwork = deps.network.onChange((online) => {
    if (!online && (state.s === 'connecting' || state.s === 'open' || state.s === 'waiting')) drop('offline', 'offline');
    else if (online && state.s === 'offline') connect(0);
  });

  const connection: Connection = {
    get state() {
      return state;
    },
    configure(next) {
      const effect = settingsEffect(state, settings, next);
      settings = next;
      switch (effect.k) {
        case 'none':
          return;
        case 'refresh':
          if (!live?.socket) return drop('settings changed', 'now');
          log.info('refreshing the access token over the open socket', { user: effect.user });
          return void sendFrame(live.socket, codec, log, { t: 'refresh', token: effect.token });
        case 'reconnect':
          return drop('settings changed', 'now');
        case 'connect':
          return connect(0);
      }
    },
    configureRefused(next, refusal) {
      if (state.s !== 'idle') return connection.configure(next);
      settings = next;
      transition({ s: 'closed', reason: refusal.reason, code: refusal.code });
    },
    send(frame) {
      if (state.s !== 'open' || !live?.socket) return false;
      return sendFrame(live.socket, codec, log, frame);
    },
    close() {
      if (ended) return;
      ended = true;
      unwatchNetwork();
      drop('hub closed', 'stop');
    },
  };
  return connection;
}
