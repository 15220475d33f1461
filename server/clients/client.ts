/**
 * One WebSocket client from upgrade to close: its state (greeting, open with a session, closing,
 * closed), the decoding of each frame and the single way out (`drop`). The parts it runs are named
 * beside it: the frame queue keeps frames in arrival order across handlers that wait, the
 * handshake decides who is let in, the session routes frames after the welcome and owns the topics
 * and the token's expiry, liveness answers the heartbeat sweep. Every handler runs guarded, so a
 * bug closes this one client with 1011 and never takes the server down.
 *
 * A server holds many thousands of these, most of them idle, so a connection is a class and is
 * the host its parts call back (its handshake, frame queue, session, limiter, outbound), and the
 * socket's listeners are shared functions that find it on the socket: no closures are made per
 * connection. (Under tsx, whose `keepNames` gives every named closure a property dictionary of its
 * own, a closure costs some 400 bytes more than the function itself.)
 */
import type { RawData } from 'ws';
import { CloseCode } from '../../lib/wire/close-codes';
import type { ClientFrame } from '../../lib/wire/protocol';
import type { DecodeResult } from '../../lib/wire/codec';
import { clip } from '../common/untrusted';
import type { Ticket } from '../limits/connection-caps';
import type { FrameLimiter } from '../limits/frame-limits';
import type { RefusalReason } from '../metrics';
import type { ClientSocket } from '../transports/client-socket';
import type { ClientContext } from './context';
import { createFrameQueue, type FrameQueue, type FrameQueueDeps } from './frame-queue';
import { createHandshake, welcomeFrame, type Handshake, type HandshakeHost } from './handshake';
import { createLiveness, type Liveness } from './liveness';
import { SocketOutbound, type BacklogListener } from './outbound';
import { createSession, type Session, type SessionHost } from './session';

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

/** Who holds the client (the live clients): told once when its socket has closed. */
export interface ClientOwner {
  released(client: Client): void;
}

type State =
  | { readonly s: 'greeting'; readonly handshake: Handshake }
  | { readonly s: 'open'; readonly session: Session; readonly limiter: FrameLimiter }
  | { readonly s: 'closing'; readonly reason: string }
  | { readonly s: 'closed'; readonly reason: string };

type Inbound = readonly [RawData, boolean];

/** ws closes the socket itself after these (1009 for an oversize message, 1002/1007 for broken framing). */
function socketErrorKind(error: Error & { code?: string }): 'too-large' | 'protocol' {
  const tooLarge = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || error.code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH';
  return tooLarge ? 'too-large' : 'protocol';
}

/** Where a socket keeps its connection, for the shared listeners. */
const CONNECTION = Symbol('switchboard connection');
type Attached = ClientSocket & { [CONNECTION]?: Connection };
const connectionOf = (ws: ClientSocket): Connection => (ws as Attached)[CONNECTION]!;

function onMessage(this: ClientSocket, data: RawData, isBinary: boolean): void {
  connectionOf(this).received(data, isBinary);
}
function onSocketError(this: ClientSocket, error: Error): void {
  connectionOf(this).socketError(error);
}
function onClose(this: ClientSocket, code: number, reason: Buffer): void {
  connectionOf(this).socketClosed(code, reason);
}
function terminate(ws: ClientSocket): void {
  ws.terminate();
}

/** What `closed` is for a connection whose socket closed before anyone asked. */
const SETTLED: Promise<void> = Promise.resolve();

/** Connections made by this process, for their ids (in logs only). */
let made = 0;

class Connection implements Client, HandshakeHost, SessionHost, BacklogListener, FrameQueueDeps<Inbound> {
  readonly id = `c${++made}`;
  readonly out: SocketOutbound;
  /**
   * Made when first asked for (only shutdown asks), not per connection: a promise and its resolver
   * cost some 150 bytes on each of thousands of idle connections. Once the socket has closed it is
   * `SETTLED`, whatever the state machine says, so nothing waiting on it can hang.
   */
  private whenClosed: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private state: State;
  private readonly liveness: Liveness;
  private readonly frames: FrameQueue<Inbound>;
  private terminateTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ws: ClientSocket,
    private readonly ctx: ClientContext,
    private readonly ticket: Ticket,
    private readonly owner: ClientOwner | undefined,
  ) {
    const { options, metrics } = ctx;
    this.out = new SocketOutbound(ws, ctx.frames, metrics, options.maxBacklogBytes, this);
    this.liveness = createLiveness(options.heartbeatMs);
    this.frames = createFrameQueue<Inbound>(this);
    this.state = { s: 'greeting', handshake: createHandshake({ verifyToken: ctx.verifyToken, timeoutMs: options.handshakeTimeoutMs, metrics }, this) };
    (ws as Attached)[CONNECTION] = this;
    ws.binaryType = 'nodebuffer';
    ws.on('message', onMessage);
    ws.on('error', onSocketError);
    ws.on('close', onClose);
  }

  get closed(): Promise<void> {
    return (this.whenClosed ??= new Promise<void>((resolve) => (this.resolveClosed = resolve)));
  }

  isOpen(): boolean {
    return this.out.isOpen();
  }

  /** Guarded: a failure while closing closes the client with 1011. */
  drop(code: number, reason: string, refusal?: RefusalReason): void {
    try {
      this.close(code, reason, refusal);
    } catch (error) {
      this.fail(error);
    }
  }

  heartbeat(): void {
    try {
      const { state } = this;
      if (state.s !== 'open' || state.session.expireIfDue()) return;
      if (this.liveness.silent()) return this.close(CloseCode.pingTimeout, 'ping timeout', 'ping-timeout');
      this.out.send({ t: 'ping', at: this.ctx.options.now() });
    } catch (error) {
      this.fail(error);
    }
  }

  fail(error: unknown): void {
    this.ctx.metrics.handlerError();
    this.ctx.logger.error({ err: error, conn: this.id }, 'connection handler failed');
    try {
      this.close(CloseCode.internalError, 'server error');
    } catch {
      this.ws.terminate();
    }
  }

  onBacklog(): void {
    this.drop(CloseCode.tryAgainLater, 'client too slow: it does not take what it asked for', 'slow-consumer');
  }

  /** The handshake let `user` in. */
  accept(user: string, expiresAt: number | undefined): void {
    const admitted = this.ticket.signIn(user, this);
    if (!admitted.ok) {
      this.out.send(admitted.error);
      return this.close(admitted.closeCode, admitted.closeReason, admitted.metric);
    }
    this.leave(this.state);
    const session = createSession({ ctx: this.ctx, user, expiresAt, out: this.out, host: this });
    this.state = { s: 'open', session, limiter: admitted.frames };
    this.ctx.logger.debug({ conn: this.id, user, session: session.id }, 'welcome');
    this.out.send(welcomeFrame(session, expiresAt, this.ctx.options));
  }

  /** Returns a promise only when the frame's handler has work left (a token check, a client message). */
  handle([data, isBinary]: Inbound): void | Promise<void> {
    const { state } = this;
    if (state.s === 'closing' || state.s === 'closed') return;
    // ws hands text frames over as bytes; the codec refuses them by their string type.
    const decoded: DecodeResult<ClientFrame> = this.ctx.codec.decodeClientFrame(isBinary ? data : Buffer.isBuffer(data) ? data.toString('utf8') : '');
    if (state.s === 'greeting') return state.handshake.onFrame(decoded);
    if (decoded.ok && !state.limiter.admit(decoded.frame)) return;
    return state.session.onFrame(decoded);
  }

  onError(error: unknown): void {
    this.fail(error);
  }

  onOverflow(): void {
    this.drop(CloseCode.policyViolation, 'too many frames in flight', 'bad-frames');
  }

  received(data: RawData, isBinary: boolean): void {
    this.liveness.seen();
    this.frames.push([data, isBinary]);
  }

  socketError(error: Error): void {
    try {
      this.ctx.metrics.frameRejected(socketErrorKind(error));
      this.ctx.logger.debug({ err: error, conn: this.id }, 'socket error');
    } catch (failure) {
      this.fail(failure);
    }
  }

  socketClosed(code: number, reason: Buffer): void {
    try {
      if (this.state.s !== 'closed') this.leave(this.state);
      this.state = { s: 'closed', reason: reason.toString() || `code ${code}` };
      this.ticket.release();
      clearTimeout(this.terminateTimer);
      this.ctx.logger.debug({ conn: this.id, code, reason: reason.toString() }, 'connection closed');
    } finally {
      if (this.resolveClosed) this.resolveClosed();
      else this.whenClosed = SETTLED;
      this.owner?.released(this);
    }
  }

  private close(code: number, reason: string, refusal?: RefusalReason): void {
    if (this.state.s === 'closing' || this.state.s === 'closed') return;
    this.leave(this.state);
    this.state = { s: 'closing', reason };
    if (refusal) this.ctx.metrics.connectionRefused(refusal);
    this.ctx.logger.debug({ conn: this.id, code, reason }, 'closing connection');
    // Close reasons must fit a control frame: 125 bytes minus the 2-byte code.
    this.ws.close(code, clip(reason, 120));
    this.terminateTimer = setTimeout(terminate, this.ctx.options.shutdownGraceMs, this.ws);
    this.terminateTimer.unref();
  }

  /** Frees what the state being left owns. */
  private leave(from: State): void {
    if (from.s === 'greeting') from.handshake.stop();
    if (from.s === 'open') from.session.close();
  }
}

/**
 * `ticket`: the connection's place under the caps (`limits/connection-caps.ts`), released when it
 * closes; `owner`, told when it has closed.
 */
export function createClient(ws: ClientSocket, ctx: ClientContext, ticket: Ticket, owner?: ClientOwner): Client {
  return new Connection(ws, ctx, ticket, owner);
}
