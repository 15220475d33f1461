/**
 * One WebSocket connection from upgrade to close: the handshake, frame dispatch, heartbeat
 * liveness, and the single way out (`drop`). Every handler runs inside `guard`, so a bug closes
 * this one connection with 1011 and never takes the server down.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { CloseCode } from '../lib/close-codes';
import type { Codec } from '../lib/codec';
import { PROTOCOL_VERSION, assertNever, type ClientFrame, type FrameOf, type ServerFrame, type StateFrame } from '../lib/protocol';
import type { TokenVerifier } from './auth';
import type { FanoutTarget, PriceFanout } from './fanout';
import { decideHandshake } from './handshake';
import type { Metrics, RefusalReason } from './metrics';
import type { ServerOptions } from './options';
import type { PriceBook } from './price-book';
import { createSubscriptions, type Subscriptions } from './subscriptions';

/** What every connection shares, built once by the server. */
export interface ConnectionContext {
  readonly codec: Codec;
  readonly options: Pick<
    ServerOptions,
    'heartbeatMs' | 'handshakeTimeoutMs' | 'maxFrameBytes' | 'maxBadFrames' | 'maxTopicsPerConnection' | 'shutdownGraceMs' | 'now'
  >;
  readonly verifyToken: TokenVerifier;
  readonly book: PriceBook;
  readonly fanout: PriceFanout;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface Connection {
  readonly id: string;
  /** True while the socket is OPEN (what the connections gauge counts). */
  isOpen(): boolean;
  /** Heartbeat sweep: closes a silent connection with 4008, otherwise sends a `ping`. */
  heartbeat(): void;
  /** Closes with `code`; a peer that does not answer within the grace period is cut off. */
  drop(code: number, reason: string, refusal?: RefusalReason): void;
  /** Settles once the socket is closed. */
  readonly closed: Promise<void>;
}

type State =
  | { readonly s: 'greeting'; readonly timer: ReturnType<typeof setTimeout> }
  | { readonly s: 'open'; readonly session: string; user: string; readonly subscriptions: Subscriptions }
  | { readonly s: 'closing'; readonly reason: string }
  | { readonly s: 'closed'; readonly reason: string };

/** Largest number of frames in one `batch` (the codec's default `maxArrayLength`). */
const MAX_BATCH_FRAMES = 4096;
/** Close reasons must fit a control frame: 125 bytes minus the 2-byte code. */
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function createConnection(ws: WebSocket, ctx: ConnectionContext): Connection {
  const { codec, options, metrics, fanout, book } = ctx;
  const id = randomUUID();
  const log = ctx.logger.child({ conn: id });
  let lastSeen = options.now();
  let badFrames = 0;
  let terminateTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  let state: State = {
    s: 'greeting',
    timer: setTimeout(() => guard(() => drop(CloseCode.handshakeTimeout, 'handshake timeout', 'handshake-timeout')), options.handshakeTimeoutMs),
  };

  function send(frame: ServerFrame): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(codec.encode(frame));
    metrics.framesSent(frame.t);
  }

  /** One `state`, or `batch` frames that each stay within the frame size limit (split in halves when over). */
  function sendStates(frames: readonly StateFrame[]): void {
    if (ws.readyState !== WebSocket.OPEN || frames.length === 0) return;
    if (frames.length === 1) return send(frames[0]!);
    const bytes = frames.length <= MAX_BATCH_FRAMES ? codec.encode({ t: 'batch', frames: [...frames] }) : undefined;
    if (bytes && bytes.byteLength <= options.maxFrameBytes) {
      ws.send(bytes);
      metrics.framesSent('batch');
      return;
    }
    const half = Math.ceil(frames.length / 2);
    sendStates(frames.slice(0, half));
    sendStates(frames.slice(half));
  }

  function sendError(code: FrameOf<ServerFrame, 'error'>['code'], message: string, topic?: string): void {
    send({ t: 'error', code, message: clip(message, 500), ...(topic === undefined ? {} : { topic }) });
  }

  const target: FanoutTarget = {
    bufferedAmount: () => ws.bufferedAmount,
    deliver: (frames) => sendStates(frames),
  };

  function drop(code: number, reason: string, refusal?: RefusalReason): void {
    if (state.s === 'closing' || state.s === 'closed') return;
    leave(state);
    state = { s: 'closing', reason };
    if (refusal) metrics.connectionRefused(refusal);
    log.debug({ code, reason }, 'closing connection');
    ws.close(code, clip(reason, 120));
    terminateTimer = setTimeout(() => ws.terminate(), options.shutdownGraceMs);
    terminateTimer.unref();
  }

  /** Frees what the state being left owns. */
  function leave(from: State): void {
    if (from.s === 'greeting') clearTimeout(from.timer);
    if (from.s === 'open') from.subscriptions.clear();
  }

  function guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      metrics.handlerError();
      log.error({ err: error }, 'connection handler failed');
      try {
        drop(CloseCode.internalError, 'server error');
      } catch {
        ws.terminate();
      }
    }
  }

  function rejectFrame(code: Parameters<Metrics['frameRejected']>[0], errorCode: FrameOf<ServerFrame, 'error'>['code'], message: string): void {
    metrics.frameRejected(code);
    sendError(errorCode, message);
    badFrames += 1;
    if (badFrames > options.maxBadFrames) drop(CloseCode.badFrame, 'too many bad frames', 'bad-frames');
  }

  function onGreeting(frame: ClientFrame): void {
    const outcome = decideHandshake(frame, ctx.verifyToken);
    if (!outcome.ok) {
      if (outcome.metric === 'not-ready') metrics.frameRejected('protocol');
      send(outcome.error);
      drop(outcome.closeCode, outcome.closeReason, outcome.metric);
      return;
    }
    leave(state);
    const session = randomUUID();
    state = {
      s: 'open',
      session,
      user: outcome.user,
      subscriptions: createSubscriptions({ target, fanout, book, send, sendStates, maxTopics: options.maxTopicsPerConnection }),
    };
    log.debug({ user: outcome.user, session }, 'welcome');
    send({
      t: 'welcome',
      v: PROTOCOL_VERSION,
      session,
      user: outcome.user,
      heartbeatMs: options.heartbeatMs,
      serverTime: options.now(),
      maxFrameBytes: options.maxFrameBytes,
    });
  }

  function onOpenFrame(open: Extract<State, { s: 'open' }>, frame: ClientFrame): void {
    switch (frame.t) {
      case 'subscribe':
        return open.subscriptions.subscribe(frame);
      case 'unsubscribe':
        return open.subscriptions.unsubscribe(frame);
      case 'ping':
        return send({ t: 'pong', at: frame.at });
      case 'pong':
        return; // Liveness was recorded on receipt.
      case 'hello':
        return rejectFrame('protocol', 'invalid', 'Already greeted: hello is only valid as the first frame');
      case 'send':
        return send({ t: 'ack', id: frame.id, ok: false, error: { code: 'invalid', message: clip(`Unknown message kind: ${frame.kind}`, 500) } });
      case 'refresh': {
        const check = ctx.verifyToken(frame.token);
        if (!check.ok || check.user !== open.user) {
          send({ t: 'error', code: 'unauthorized', message: check.ok ? 'A refreshed token must belong to the same user' : check.reason });
          return drop(CloseCode.unauthorized, 'access token refused', 'unauthorized');
        }
        return;
      }
      default:
        return assertNever(frame);
    }
  }

  function onMessage(data: RawData, isBinary: boolean): void {
    lastSeen = options.now();
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
    onOpenFrame(state, decoded.frame);
  }

  ws.binaryType = 'nodebuffer';
  ws.on('message', (data, isBinary) => guard(() => onMessage(data, isBinary)));
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
    isOpen: () => ws.readyState === WebSocket.OPEN,
    drop: (code, reason, refusal) => guard(() => drop(code, reason, refusal)),
    heartbeat: () =>
      guard(() => {
        if (state.s !== 'open') return;
        // Two missed intervals plus a grace for a slow network or a busy client event loop.
        const grace = Math.min(options.heartbeatMs, 5000);
        if (options.now() - lastSeen > 2 * options.heartbeatMs + grace) {
          return drop(CloseCode.pingTimeout, 'ping timeout', 'ping-timeout');
        }
        send({ t: 'ping', at: options.now() });
      }),
  };
}
