/**
 * One WebSocket client from upgrade to close: its state (greeting, open with a session, closing,
 * closed), the decoding of each frame and the single way out (`drop`). The parts it runs are named
 * beside it: the frame queue keeps frames in arrival order across handlers that wait, the
 * handshake decides who is let in, the session routes frames after the welcome and owns the topics
 * and the token's expiry, liveness answers the heartbeat sweep. Every handler runs guarded, so a
 * bug closes this one client with 1011 and never takes the server down.
 */
import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { CloseCode } from '../../lib/wire/close-codes';
import { clip } from '../common/untrusted';
import type { Ticket } from '../limits/connection-caps';
import type { FrameLimiter } from '../limits/frame-limits';
import type { RefusalReason } from '../metrics';
import type { ClientContext } from './context';
import { createFrameQueue } from './frame-queue';
import { createHandshake, welcomeFrame, type Handshake } from './handshake';
import { createLiveness } from './liveness';
import { createOutbound } from './outbound';
import { createSession, type Session } from './session';

export type { ClientContext } from './context';

export interface Client {
  readonly id: string;
  /** True while the socket is OPEN (what the connections gauge counts). */
  isOpen(): boolean;
  /** Heartbeat sweep: closes a silent client with 4008 (an expired one with 4011), otherwise sends a `ping`. */
  heartbeat(): void;
  /** Closes with `code`; a peer that does not answer within the grace period is cut off. */
  drop(code: number, reason: string, refusal?: RefusalReason): void;
  /** Settles once the socket is closed. */
  readonly closed: Promise<void>;
}

type State =
  | { readonly s: 'greeting'; readonly handshake: Handshake }
  | { readonly s: 'open'; readonly session: Session; readonly limiter: FrameLimiter }
  | { readonly s: 'closing'; readonly reason: string }
  | { readonly s: 'closed'; readonly reason: string };

/** ws closes the socket itself after these (1009 for an oversize message, 1002/1007 for broken framing). */
function socketErrorKind(error: Error & { code?: string }): 'too-large' | 'protocol' {
  const tooLarge = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || error.code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH';
  return tooLarge ? 'too-large' : 'protocol';
}

/** `ticket`: the connection's place under the caps (`limits/connection-caps.ts`), released when it closes. */
export function createClient(ws: WebSocket, ctx: ClientContext, ticket: Ticket): Client {
  const { codec, options, metrics } = ctx;
  const id = randomUUID();
  const log = ctx.logger.child({ conn: id });
  const out = createOutbound({
    ws,
    codec,
    metrics,
    maxFrameBytes: options.maxFrameBytes,
    maxBacklogBytes: options.maxBacklogBytes,
    onBacklog: () => guardedDrop(CloseCode.tryAgainLater, 'client too slow: it does not take what it asked for', 'slow-consumer'),
  });
  const liveness = createLiveness(options.heartbeatMs);
  let terminateTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  let state: State = {
    s: 'greeting',
    handshake: createHandshake({ verifyToken: ctx.verifyToken, timeoutMs: options.handshakeTimeoutMs, out, metrics, drop: guardedDrop, accept: open }),
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
    if (from.s === 'greeting') from.handshake.stop();
    if (from.s === 'open') from.session.close();
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

  function guardedDrop(code: number, reason: string, refusal?: RefusalReason): void {
    guard(() => drop(code, reason, refusal));
  }

  function open(user: string, expiresAt: number | undefined): void {
    const admitted = ticket.signIn(user, { out, drop: guardedDrop });
    if (!admitted.ok) {
      out.send(admitted.error);
      return drop(admitted.closeCode, admitted.closeReason, admitted.metric);
    }
    leave(state);
    const session = createSession({ ctx, user, expiresAt, out, drop: guardedDrop, fail });
    state = { s: 'open', session, limiter: admitted.frames };
    log.debug({ user, session: session.id }, 'welcome');
    out.send(welcomeFrame(session, expiresAt, options));
  }

  /** Returns a promise only when the frame's handler has work left (a token check, a client message). */
  function onFrame([data, isBinary]: readonly [RawData, boolean]): void | Promise<void> {
    if (state.s === 'closing' || state.s === 'closed') return;
    // ws hands text frames over as bytes; the codec refuses them by their string type.
    const decoded = codec.decodeClientFrame(isBinary ? data : Buffer.isBuffer(data) ? data.toString('utf8') : '');
    if (state.s === 'greeting') return state.handshake.onFrame(decoded);
    if (decoded.ok && !state.limiter.admit(decoded.frame)) return;
    return state.session.onFrame(decoded);
  }

  const frames = createFrameQueue({
    handle: onFrame,
    onError: fail,
    onOverflow: () => guardedDrop(CloseCode.policyViolation, 'too many frames in flight', 'bad-frames'),
  });
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data, isBinary) => {
    liveness.seen();
    frames.push([data, isBinary]);
  });
  ws.on('error', (error) =>
    guard(() => {
      metrics.frameRejected(socketErrorKind(error));
      log.debug({ err: error }, 'socket error');
    }),
  );
  ws.on('close', (code, reason) => {
    try {
      if (state.s !== 'closed') leave(state);
      state = { s: 'closed', reason: reason.toString() || `code ${code}` };
      ticket.release();
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
    drop: guardedDrop,
    heartbeat: () =>
      guard(() => {
        if (state.s !== 'open' || state.session.expireIfDue()) return;
        if (liveness.silent()) return drop(CloseCode.pingTimeout, 'ping timeout', 'ping-timeout');
        out.send({ t: 'ping', at: options.now() });
      }),
  };
}
