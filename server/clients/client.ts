/**
 * One WebSocket connection from upgrade to close: the handshake, frame dispatch, heartbeat
 * liveness, token expiry and refresh, and the single way out (`drop`). Frames are handled in
 * arrival order, also across a handler that waits (checking a token, applying a client message):
 * frames behind it queue, so a `subscribe` sent right behind `hello` is answered after the
 * welcome. Every handler runs guarded, so a bug closes this one connection with 1011 and never
 * takes the server down.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { CloseCode } from '../../lib/wire/close-codes';
import type { Codec } from '../../lib/wire/codec';
import { PROTOCOL_VERSION, assertNever, type ClientFrame, type FrameOf, type ServerFrame } from '../../lib/wire/protocol';
import type { AlertsTopic } from '../alerts/topic';
import type { TokenVerifier } from '../auth/checks';
import { clip } from '../common/untrusted';
import type { EventLog } from '../event-log/types';
import type { Metrics, RefusalReason } from '../metrics';
import type { ServerOptions } from '../options';
import type { PriceBook } from '../prices/book';
import type { FanoutTarget, PriceFanout } from '../prices/fanout';
import type { StreamFanout } from '../streams/fanout';
import { createStreamTopics } from '../streams/topics';
import { decideHandshake } from './handshake';
import type { ClientMessages } from './messages';
import { createOutbound } from './outbound';
import { createSubscriptions, type Subscriptions } from './subscriptions';

/** What every connection shares, built once by the server. */
export interface ClientContext {
  readonly codec: Codec;
  readonly options: Pick<
    ServerOptions,
    | 'heartbeatMs'
    | 'handshakeTimeoutMs'
    | 'maxFrameBytes'
    | 'maxBadFrames'
    | 'maxTopicsPerConnection'
    | 'shutdownGraceMs'
    | 'maxBufferedBytes'
    | 'maxStreamBacklogBytes'
    | 'drainTimeoutMs'
    | 'now'
  >;
  readonly verifyToken: TokenVerifier;
  readonly book: PriceBook;
  readonly fanout: PriceFanout;
  readonly log: EventLog;
  readonly streamFanout: StreamFanout;
  readonly alertsTopic: Pick<AlertsTopic, 'subscribe' | 'unsubscribe'>;
  readonly clientMessages: ClientMessages;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface Client {
  readonly id: string;
  /** True while the socket is OPEN (what the connections gauge counts). */
  isOpen(): boolean;
  /** Heartbeat sweep: closes a silent connection with 4008 (an expired one with 4011), otherwise sends a `ping`. */
  heartbeat(): void;
  /** Closes with `code`; a peer that does not answer within the grace period is cut off. */
  drop(code: number, reason: string, refusal?: RefusalReason): void;
  /** Settles once the socket is closed. */
  readonly closed: Promise<void>;
}

interface Open {
  readonly s: 'open';
  readonly session: string;
  readonly user: string;
  /** When the access token in force expires (ms); undefined for one that does not. */
  expiresAt: number | undefined;
  expiryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly subscriptions: Subscriptions;
}

type State =
  | { readonly s: 'greeting'; readonly timer: ReturnType<typeof setTimeout> }
  | Open
  | { readonly s: 'closing'; readonly reason: string }
  | { readonly s: 'closed'; readonly reason: string };

/**
 * Frames waiting behind one whose handler is still working (a token check); a client that runs this
 * far ahead is flooding. Frames are handled at once whenever nothing is pending.
 */
const MAX_QUEUED_FRAMES = 1024;
/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * Liveness is measured on the monotonic clock: a wall clock that steps (NTP, or an injected test
 * clock) must not make a talking client look silent. Token expiry uses the wall clock (`now`).
 */
const monotonic = () => performance.now();

export function createClient(ws: WebSocket, ctx: ClientContext): Client {
  const { codec, options, metrics, fanout, book } = ctx;
  const id = randomUUID();
  const log = ctx.logger.child({ conn: id });
  const out = createOutbound({ ws, codec, metrics, maxFrameBytes: options.maxFrameBytes });
  let lastSeen = monotonic();
  let badFrames = 0;
  /** Frames received while a handler was still working, handled in arrival order after it. */
  const queued: Array<readonly [RawData, boolean]> = [];
  let busy = false;
  let terminateTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  let state: State = {
    s: 'greeting',
    timer: setTimeout(() => guard(() => drop(CloseCode.handshakeTimeout, 'handshake timeout', 'handshake-timeout')), options.handshakeTimeoutMs),
  };

  function sendError(code: FrameOf<ServerFrame, 'error'>['code'], message: string, topic?: string): void {
    out.send({ t: 'error', code, message: clip(message, 500), ...(topic === undefined ? {} : { topic }) });
  }

  const target: FanoutTarget = {
    bufferedAmount: () => ws.bufferedAmount,
    deliver: (frames) => out.sendStates(frames),
  };

  function drop(code: number, reason: string, refusal?: RefusalReason): void {
    if (state.s === 'closing' || state.s === 'closed') return;
    leave(state);
    state = { s: 'closing', reason };
    if (refusal) metrics.connectionRefused(refusal);
    log.debug({ code, reason }, 'closing connection');
    // Close reasons must fit a control frame: 125 bytes minus the 2-byte code.
    ws.close(code, clip(reason, 120));
    terminateTimer = setTimeout(() => ws.terminate(), options.shutdownGraceMs);
    terminateTimer.unref();
  }

  /** Frees what the state being left owns. */
  function leave(from: State): void {
    if (from.s === 'greeting') clearTimeout(from.timer);
    if (from.s === 'open') {
      clearTimeout(from.expiryTimer);
      from.subscriptions.clear();
    }
  }

  function fail(error: unknown): void {
    metrics.handlerError();
    log.error({ err: error }, 'connection handler failed');
    try {
      drop(CloseCode.internalError, 'server error');
    } catch {
      ws.terminate();
    }
  }

  function guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      fail(error);
    }
  }

  /** Handles queued frames in order; stops at a handler that is still working and resumes when it is done. */
  function pump(): void {
    while (!busy && queued.length > 0) {
      const [data, isBinary] = queued.shift()!;
      let working: void | Promise<void>;
      try {
        working = onMessage(data, isBinary);
      } catch (error) {
        fail(error);
        continue;
      }
      if (working instanceof Promise) {
        busy = true;
        working.catch(fail).finally(() => {
          busy = false;
          pump();
        });
      }
    }
  }

  function expire(): void {
    sendError('unauthorized', 'Access token expired: refresh it, or reconnect with a new one');
    drop(CloseCode.tokenExpired, 'access token expired', 'expired');
  }

  /** (Re)starts the countdown to the token's expiry; the timer re-checks the clock, so it is never early. */
  function armExpiry(open: Open, expiresAt: number | undefined): void {
    clearTimeout(open.expiryTimer);
    open.expiryTimer = undefined;
    open.expiresAt = expiresAt;
    if (expiresAt === undefined) return;
    const check = () =>
      guard(() => {
        if (state !== open || open.expiresAt !== expiresAt) return;
        if (options.now() >= expiresAt) return expire();
        arm();
      });
    const arm = () => {
      open.expiryTimer = setTimeout(check, Math.min(MAX_TIMER_MS, Math.max(0, expiresAt - options.now())));
      open.expiryTimer.unref();
    };
    arm();
  }

  function rejectFrame(code: Parameters<Metrics['frameRejected']>[0], errorCode: FrameOf<ServerFrame, 'error'>['code'], message: string): void {
    metrics.frameRejected(code);
    sendError(errorCode, message);
    badFrames += 1;
    if (badFrames > options.maxBadFrames) drop(CloseCode.badFrame, 'too many bad frames', 'bad-frames');
  }

  async function onGreeting(frame: ClientFrame): Promise<void> {
    const outcome = await decideHandshake(frame, ctx.verifyToken);
    if (state.s !== 'greeting') return; // timed out or closed while the token was checked
    if (!outcome.ok) {
      if (outcome.metric === 'not-ready') metrics.frameRejected('protocol');
      out.send(outcome.error);
      drop(outcome.closeCode, outcome.closeReason, outcome.metric);
      return;
    }
    leave(state);
    const session = randomUUID();
    const streams = createStreamTopics({
      log: ctx.log,
      fanout: ctx.streamFanout,
      out,
      metrics,
      limits: options,
      drop: (code, reason, refusal) => guard(() => drop(code, reason, refusal)),
      onError: fail,
    });
    const open: Open = {
      s: 'open',
      session,
      user: outcome.user,
      expiresAt: undefined,
      expiryTimer: undefined,
      subscriptions: createSubscriptions({
        user: outcome.user,
        target,
        fanout,
        book,
        streams,
        alerts: ctx.alertsTopic,
        out,
        metrics,
        maxTopics: options.maxTopicsPerConnection,
      }),
    };
    state = open;
    armExpiry(open, outcome.expiresAt);
    log.debug({ user: outcome.user, session }, 'welcome');
    out.send({
      t: 'welcome',
      v: PROTOCOL_VERSION,
      session,
      user: outcome.user,
      heartbeatMs: options.heartbeatMs,
      serverTime: options.now(),
      maxFrameBytes: options.maxFrameBytes,
      ...(outcome.expiresAt === undefined ? {} : { tokenExpiresAt: outcome.expiresAt }),
    });
  }

  /** `refresh`: a valid token of the same user takes over on this connection; anything else closes it with 4010. */
  async function onRefresh(open: Open, token: string): Promise<void> {
    const check = await ctx.verifyToken(token);
    if (state !== open) return;
    if (!check.ok) {
      sendError('unauthorized', check.reason);
      return drop(CloseCode.unauthorized, 'access token refused', check.expired ? 'expired' : 'unauthorized');
    }
    if (check.user !== open.user) {
      sendError('unauthorized', `A refreshed token must belong to the same user (${open.user}), not ${check.user}`);
      return drop(CloseCode.unauthorized, 'access token refused', 'wrong-user');
    }
    armExpiry(open, check.expiresAt);
    out.send({ t: 'refreshed', user: open.user, ...(check.expiresAt === undefined ? {} : { tokenExpiresAt: check.expiresAt }) });
  }

  function onOpenFrame(open: Open, frame: ClientFrame): void | Promise<void> {
    switch (frame.t) {
      case 'subscribe':
        return open.subscriptions.subscribe(frame);
      case 'unsubscribe':
        return open.subscriptions.unsubscribe(frame);
      case 'ping':
        return out.send({ t: 'pong', at: frame.at });
      case 'pong':
        return; // Liveness was recorded on receipt.
      case 'hello':
        return rejectFrame('protocol', 'invalid', 'Already greeted: hello is only valid as the first frame');
      case 'send':
        // Frames behind a message wait for its ack, so acks go out in the order messages came.
        return ctx.clientMessages.handle(open.user, frame).then((ack) => out.send(ack));
      case 'refresh':
        return onRefresh(open, frame.token);
      default:
        return assertNever(frame);
    }
  }

  /** Returns a promise only when the frame's handler has work left (a token check, a client message). */
  function onMessage(data: RawData, isBinary: boolean): void | Promise<void> {
    if (state.s === 'closing' || state.s === 'closed') return;
    // ws hands text frames over as bytes; the codec refuses them by their string type.
    const raw = isBinary ? data : Buffer.isBuffer(data) ? data.toString('utf8') : '';
    const decoded = codec.decodeClientFrame(raw);
    if (state.s === 'greeting') {
      if (!decoded.ok) {
        metrics.frameRejected(decoded.code);
        sendError(decoded.code, decoded.message);
        return drop(CloseCode.badFrame, 'bad frame before hello', 'bad-frames');
      }
      metrics.framesReceived(decoded.frame.t);
      return onGreeting(decoded.frame);
    }
    if (!decoded.ok) return rejectFrame(decoded.code, decoded.code, decoded.message);
    metrics.framesReceived(decoded.frame.t);
    return onOpenFrame(state, decoded.frame);
  }

  ws.binaryType = 'nodebuffer';
  ws.on('message', (data, isBinary) => {
    lastSeen = monotonic();
    if (queued.length >= MAX_QUEUED_FRAMES) return guard(() => drop(CloseCode.policyViolation, 'too many frames in flight', 'bad-frames'));
    queued.push([data, isBinary]);
    pump();
  });
  ws.on('error', (error: Error & { code?: string }) =>
    guard(() => {
      // ws closes the socket itself (1009 for an oversize message, 1002/1007 for broken framing).
      const tooLarge = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || error.code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH';
      metrics.frameRejected(tooLarge ? 'too-large' : 'protocol');
      log.debug({ err: error }, 'socket error');
    }),
  );
  ws.on('close', (code, reason) => {
    try {
      if (state.s !== 'closed') leave(state);
      state = { s: 'closed', reason: reason.toString() || `code ${code}` };
      clearTimeout(terminateTimer);
      log.debug({ code, reason: reason.toString() }, 'connection closed');
    } finally {
      resolveClosed();
    }
  });

  return {
    id,
    closed,
    isOpen: out.isOpen,
    drop: (code, reason, refusal) => guard(() => drop(code, reason, refusal)),
    heartbeat: () =>
      guard(() => {
        if (state.s !== 'open') return;
        // The timer covers real time; this covers an injected clock that jumps.
        if (state.expiresAt !== undefined && options.now() >= state.expiresAt) return expire();
        // Two missed intervals plus a grace for a slow network or a busy client event loop.
        const grace = Math.min(options.heartbeatMs, 5000);
        if (monotonic() - lastSeen > 2 * options.heartbeatMs + grace) {
          return drop(CloseCode.pingTimeout, 'ping timeout', 'ping-timeout');
        }
        out.send({ t: 'ping', at: options.now() });
      }),
  };
}
