/**
 * One connection attempt on its socket: `hello` once the socket opens, `welcome` within the
 * handshake timeout, then the heartbeat, and every other valid frame handed on while open. Its
 * timers live in the attempt's scope, so the connection's `drop()` frees them in one call; every
 * socket callback first asks whether its attempt is still the current one, so a socket the hub
 * has already let go of is ignored.
 */
import { closeRule } from '../../../lib/wire/close-codes';
import type { Codec, RawFrame } from '../../../lib/wire/codec';
import { PROTOCOL_VERSION, type ClientFrame, type ServerFrame } from '../../../lib/wire/protocol';
import { toWebSocketUrl, type Settings } from '../../../lib/rpc/settings';
import { heartbeatTiming, startHeartbeat, type Heartbeat } from './heartbeat';
import { sendFrame } from './socket';
import type { Clock, Logger, SocketLike } from '../platform';
import type { Scope } from '../scope';

const client = 'switchboard-hub/1';

/** Where an attempt connects and with which token, or why there is nothing to connect to. */
export type AttemptTarget = { readonly ok: true; readonly url: string; readonly token: string } | { readonly ok: false; readonly reason: string };

export function attemptTarget(settings: Settings | null): AttemptTarget {
  const target = settings ? toWebSocketUrl(settings.serverUrl) : null;
  if (!settings || !target) return { ok: false, reason: 'not configured' };
  if (!target.ok) return { ok: false, reason: target.error.message };
  if (!settings.token) return { ok: false, reason: 'no access token: set one in Options' };
  return { ok: true, url: target.value, token: settings.token };
}

/**
 * The most informative words for a close: the message of an `error` frame the server sent just
 * before closing, else the close frame's own reason text, else the close-code table's.
 */
export function closeReason(code: number, closeText: string, serverError: string | undefined): string {
  return serverError || closeText || closeRule(code).reason;
}

export interface AttemptDeps {
  readonly scope: Scope;
  readonly socket: SocketLike;
  readonly token: string;
  readonly clock: Clock;
  readonly codec: Codec;
  readonly log: Logger;
  readonly timing: { readonly handshakeTimeoutMs: number; readonly maxPingIntervalMs: number };
  /** Whether this attempt is still the connection's current one. */
  isCurrent(): boolean;
  /** Whether `welcome` already opened the connection (while current, it is otherwise connecting). */
  isOpen(): boolean;
  /** The server welcomed the hub in the protocol version it speaks: the connection is open. */
  opened(welcome: Extract<ServerFrame, { t: 'welcome' }>): void;
  /** Ends the attempt: the connection's `drop`; `code` is the close code when the socket closed. */
  drop(reason: string, next: 'retry' | 'stop', code?: number): void;
  /** Valid frames received while open that the connection does not handle itself. */
  onFrame(frame: ServerFrame): void;
}

/** Attaches the attempt's handlers to its socket and arms the handshake timeout. */
export function attachAttempt(deps: AttemptDeps): void {
  const { scope, socket, clock, codec, log, timing } = deps;
  let heartbeat: Heartbeat | null = null;
  /** The message of a connection-level `error` frame when it was the last frame received. */
  let serverError: string | undefined;

  const cancelHandshake = scope.after(timing.handshakeTimeoutMs, () => deps.drop('handshake timeout', 'retry'));

  // A failed send is only logged: the close event that follows is what moves the state on.
  const sendNow = (frame: ClientFrame): void => void sendFrame(socket, codec, log, frame);

  const onWelcome = (frame: Extract<ServerFrame, { t: 'welcome' }>): void => {
    if (deps.isOpen()) return log.warn('ignored a second welcome', { session: frame.session });
    if (frame.v !== PROTOCOL_VERSION) {
      return deps.drop(`server speaks protocol v${frame.v}, the hub v${PROTOCOL_VERSION}`, 'stop');
    }
    cancelHandshake();
    heartbeat = startHeartbeat(scope, clock, heartbeatTiming(frame.heartbeatMs, timing.maxPingIntervalMs), {
      ping: () => sendNow({ t: 'ping', at: clock.now() }),
      dead: () => deps.drop('ping timeout', 'retry'),
    });
    deps.opened(frame);
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
        if (!deps.isOpen()) return log.warn('ignored a frame before welcome', { frame: frame.t });
        return deps.onFrame(frame);
    }
  };

  socket.onopen = () => {
    if (deps.isCurrent()) sendNow({ t: 'hello', v: PROTOCOL_VERSION, token: deps.token, client });
  };
  socket.onmessage = (event) => {
    if (!deps.isCurrent()) return;
    heartbeat?.traffic();
    const decoded = codec.decodeServerFrame(event.data as RawFrame);
    if (!decoded.ok) return log.warn('ignored a bad frame from the server', { code: decoded.code, message: decoded.message });
    onFrame(decoded.frame);
  };
  socket.onclose = (event) => {
    if (!deps.isCurrent()) return;
    const rule = closeRule(event.code);
    log.info('socket closed', { code: event.code, reason: event.reason });
    deps.drop(closeReason(event.code, event.reason, serverError), rule.reconnect ? 'retry' : 'stop', event.code);
  };
  // A handler stays attached even on stale sockets: `ws` throws an 'error' event nobody listens to.
  socket.onerror = () => {
    if (deps.isCurrent()) log.info('socket error; the close event follows');
  };
}
