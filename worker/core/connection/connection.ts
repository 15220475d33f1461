/**
 * The hub's one WebSocket as a state machine. The state is a single value carrying its data; every
 * change goes through `transition()`, which reports `{from, to}`; every way out of an attempt (or a
 * wait) goes through `drop(reason, next)`, which frees that attempt's socket and timers in one call
 * and then decides what comes next. Socket callbacks check their attempt's scope id, so events
 * from a socket the hub has already let go of are ignored.
 *
 * `drop` takes a small union instead of the usual `reconnect` boolean because "what next" has five
 * answers here: retry with backoff, reconnect at once, stop, offline, or idle.
 */
import { closeRule, CloseCode } from '../../../lib/wire/close-codes';
import { createCodec, type Codec, type RawFrame } from '../../../lib/wire/codec';
import { toErrorData } from '../../../lib/errors';
import type { HubStatus } from '../../../lib/rpc/hub-api';
import { PROTOCOL_VERSION, type ClientFrame, type ServerFrame } from '../../../lib/wire/protocol';
import { toWebSocketUrl, type Settings } from '../../../lib/rpc/settings';
import { tokenSubject } from '../token-subject';
import { backoffDelay, type BackoffOptions } from '../../../lib/backoff';
import { heartbeatTiming, startHeartbeat, type Heartbeat } from './heartbeat';
import type { Clock, Logger, NetworkMonitor, SocketFactory, SocketLike } from '../platform';
import { createScope, type Scope } from '../scope';

export type ConnectionState =
  | { readonly s: 'idle'; readonly reason: string }
  | { readonly s: 'connecting'; readonly attempt: number }
  | { readonly s: 'open'; readonly attempt: number; readonly session: string; readonly user: string; readonly since: number }
  | { readonly s: 'waiting'; readonly attempt: number; readonly retryAt: number; readonly reason: string }
  | { readonly s: 'offline' }
  | { readonly s: 'closed'; readonly reason: string };

export interface Transition {
  readonly from: ConnectionState;
  readonly to: ConnectionState;
}

/** Where `drop()` leaves the connection. */
type Next = 'retry' | 'now' | 'stop' | 'offline' | 'idle';

export interface ConnectionOptions {
  readonly backoff: BackoffOptions;
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
  /** Sends a frame if the connection is open; returns whether it was handed to the socket. */
  send(frame: ClientFrame): boolean;
  /** Closes for good: the socket, every timer and the network watch. */
  close(): void;
}

const client = 'switchboard-hub/1';

/** The view-facing status: the state without the hub's own bookkeeping. */
export function toHubStatus(state: ConnectionState): HubStatus {
  if (state.s !== 'open') return state;
  return { s: 'open', session: state.session, user: state.user, since: state.since };
}

/**
 * The most informative words for a close: the message of an `error` frame the server sent just
 * before closing, else the close frame's own reason text, else the close-code table's.
 */
export function closeReason(code: number, closeText: string, serverError: string | undefined): string {
  return serverError || closeText || closeRule(code).reason;
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

  function drop(reason: string, next: Next): void {
    const from = state;
    release(reason);
    switch (next) {
      case 'retry':
        // A failed attempt n makes the next one n + 1; an open connection resets the count.
        return wait(from.s === 'connecting' ? from.attempt + 1 : 1, reason);
      case 'now':
        return connect(0);
      case 'stop':
        return transition({ s: 'closed', reason });
      case 'offline':
        return transition({ s: 'offline' });
      case 'idle':
        return transition({ s: 'idle', reason });
    }
  }

  function wait(attempt: number, reason: string): void {
    const delay = backoffDelay(attempt - 1, options.backoff, deps.random);
    const scope = createScope(clock);
    live = { scope, socket: null };
    scope.after(delay, () => connect(attempt));
    transition({ s: 'waiting', attempt, retryAt: clock.now() + delay, reason });
  }

  function connect(attempt: number): void {
    release('reconnecting');
    if (ended) return;
    if (!deps.network.isOnline()) return transition({ s: 'offline' });
    const target = settings ? toWebSocketUrl(settings.serverUrl) : null;
    if (!settings || !target) return transition({ s: 'idle', reason: 'not configured' });
    if (!target.ok) return transition({ s: 'idle', reason: target.error.message });
    if (!settings.token) return transition({ s: 'idle', reason: 'no access token: set one in Options' });
    const token = settings.token;

    const scope = createScope(clock);
    live = { scope, socket: null };
    transition({ s: 'connecting', attempt });
    let socket: SocketLike;
    try {
      socket = deps.openSocket(target.value);
      socket.binaryType = 'arraybuffer';
    } catch (error) {
      return drop(`cannot open ${target.value}: ${toErrorData(error).message}`, 'retry');
    }
    live = { scope, socket };
    attach(scope, socket, attempt, token);
  }

  function attach(scope: Scope, socket: SocketLike, attempt: number, token: string): void {
    const isCurrent = (): boolean => live?.scope.id === scope.id;
    let heartbeat: Heartbeat | null = null;
    /** The message of a connection-level `error` frame when it was the last frame received. */
    let serverError: string | undefined;

    const cancelHandshake = scope.after(options.handshakeTimeoutMs, () => drop('handshake timeout', 'retry'));

    // A failed send is only logged: the close event that follows is what moves the state on.
    const sendNow = (frame: ClientFrame): void => void sendOn(socket, frame);

    const onWelcome = (frame: Extract<ServerFrame, { t: 'welcome' }>): void => {
      if (state.s !== 'connecting') return log.warn('ignored a second welcome', { session: frame.session });
      if (frame.v !== PROTOCOL_VERSION) {
        return drop(`server speaks protocol v${frame.v}, the hub v${PROTOCOL_VERSION}`, 'stop');
      }
      cancelHandshake();
      heartbeat = startHeartbeat(scope, clock, heartbeatTiming(frame.heartbeatMs, options.maxPingIntervalMs), {
        ping: () => sendNow({ t: 'ping', at: clock.now() }),
        dead: () => drop('ping timeout', 'retry'),
      });
      transition({ s: 'open', attempt, session: frame.session, user: frame.user, since: clock.now() });
    };

    const onFrame = (frame: ServerFrame): void => {
      if (frame.t === 'error' && frame.topic === undefined) {
        serverError = frame.message;
        log.warn('server error', { code: frame.code, message: frame.message });
        return;
      }
      serverError = undefined;
      switch (frame.t) {
        case 'welcome':
          return onWelcome(frame);
        case 'ping':
          return sendNow({ t: 'pong', at: frame.at });
        case 'pong':
          return;
        default:
          if (state.s !== 'open') return log.warn('ignored a frame before welcome', { frame: frame.t });
          return deps.onFrame(frame);
      }
    };

    socket.onopen = () => {
      if (isCurrent()) sendNow({ t: 'hello', v: PROTOCOL_VERSION, token, client });
    };
    socket.onmessage = (event) => {
      if (!isCurrent()) return;
      heartbeat?.traffic();
      const decoded = codec.decodeServerFrame(event.data as RawFrame);
      if (!decoded.ok) return log.warn('ignored a bad frame from the server', { code: decoded.code, message: decoded.message });
      onFrame(decoded.frame);
    };
    socket.onclose = (event) => {
      if (!isCurrent()) return;
      const rule = closeRule(event.code);
      log.info('socket closed', { code: event.code, reason: event.reason });
      drop(closeReason(event.code, event.reason, serverError), rule.reconnect ? 'retry' : 'stop');
    };
    // A handler stays attached even on stale sockets: `ws` throws an 'error' event nobody listens to.
    socket.onerror = () => {
      if (isCurrent()) log.info('socket error; the close event follows');
    };
  }

  function sendOn(socket: SocketLike, frame: ClientFrame): boolean {
    try {
      socket.send(codec.encode(frame));
      return true;
    } catch (error) {
      log.warn('send failed', { frame: frame.t, error: toErrorData(error).message });
      return false;
    }
  }

  const unwatchNetwork = deps.network.onChange((online) => {
    if (!online && (state.s === 'connecting' || state.s === 'open' || state.s === 'waiting')) drop('offline', 'offline');
    else if (online && state.s === 'offline') connect(0);
  });

  return {
    get state() {
      return state;
    },
    configure(next) {
      const changed = settings === null || next.serverUrl !== settings.serverUrl || next.token !== settings.token;
      const sameServer = settings !== null && next.serverUrl === settings.serverUrl;
      settings = next;
      switch (state.s) {
        case 'offline':
          return; // Applied when the network comes back.
        case 'open':
          // A new token for the same user replaces the old one without dropping the socket, so
          // no subscription or replay is redone; the server closes with 4010 if it refuses it.
          if (changed && sameServer && next.token && tokenSubject(next.token) === state.user && live?.socket) {
            log.info('refreshing the access token over the open socket', { user: state.user });
            return void sendOn(live.socket, { t: 'refresh', token: next.token });
          }
          if (changed) drop('settings changed', 'now');
          return;
        case 'connecting':
        case 'waiting':
          if (changed) drop('settings changed', 'now');
          return;
        case 'idle':
        case 'closed':
          // Saving the same settings again is how a user says "try again" after a refused token.
          return connect(0);
      }
    },
    send(frame) {
      if (state.s !== 'open' || !live?.socket) return false;
      return sendOn(live.socket, frame);
    },
    close() {
      if (ended) return;
      ended = true;
      unwatchNetwork();
      drop('hub closed', 'stop');
    },
  };
}

function closeQuietly(socket: SocketLike, reason: string): void {
  try {
    // Browsers only accept 1000 or 3000-4999 here, and a reason of at most 123 UTF-8 bytes.
    socket.close(CloseCode.clientClosing, reason.slice(0, 60));
  } catch {
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  }
}
