/**
 * A greeted client's session: its user, its topics and the access token in force, and the router
 * for every frame after the welcome. Bad frames are counted against `maxBadFrames`; `send` acks go
 * out in the order the messages came (the frame queue waits for each); `refresh` lets a valid token
 * of the same user take over on this socket and restarts the expiry countdown, an expired one
 * closes it with 4011 and anything else with 4010; a token expiring while connected closes it with
 * 4011. One per signed-in connection, so a class (its methods shared, not closures per connection).
 */
import { randomUUID } from 'node:crypto';
import { CloseCode } from '../../lib/wire/close-codes';
import type { DecodeResult } from '../../lib/wire/codec';
import { assertNever, type ClientFrame, type ErrorCode } from '../../lib/wire/protocol';
import type { Metrics, RefusalReason } from '../metrics';
import type { ClientContext } from './context';
import { errorFrame, type Outbound } from './outbound';
import { createSubscriptions, type Subscriptions } from './subscriptions';
import { createTokenExpiry, type TokenExpiry, type TokenExpiryDeps } from './token-expiry';

export interface Session {
  readonly id: string;
  readonly user: string;
  /**
   * Handles one frame after the welcome; returns a promise only when its handler has work left (a
   * token check, a client message). A bad frame is answered with an `error` and counted: past
   * `maxBadFrames` the client is closed with 4000.
   */
  onFrame(decoded: DecodeResult<ClientFrame>): void | Promise<void>;
  /** Closes the client with 4011 if its token has expired by the wall clock; says whether it did. */
  expireIfDue(): boolean;
  /** Leaves every topic and stops the expiry countdown (the client is closing). */
  close(): void;
}

/** The connection a session belongs to; called as methods. */
export interface SessionHost {
  /** Closes the client (guarded: a failure closes it with 1011). */
  drop(code: number, reason: string, refusal?: RefusalReason): void;
  /** A handler failed unexpectedly: closes the client with 1011. */
  fail(error: unknown): void;
}

export interface SessionDeps {
  readonly ctx: ClientContext;
  readonly user: string;
  /** When the token of `hello` expires (ms); undefined for one that does not. */
  readonly expiresAt: number | undefined;
  readonly out: Outbound;
  readonly host: SessionHost;
}

class ClientSession implements Session, TokenExpiryDeps {
  /**
   * A UUID, copied into one flat string: `randomUUID` returns a rope of a dozen pieces, which the
   * session would keep for as long as the connection lives (some 400 bytes).
   */
  readonly id = Buffer.from(randomUUID(), 'latin1').toString('latin1');
  readonly user: string;
  private closed = false;
  private badFrames = 0;
  /** Made on the first `subscribe` or `unsubscribe`: most connections hold few topics, some none. */
  private topics: Subscriptions | undefined;
  private readonly expiry: TokenExpiry;

  constructor(private readonly deps: SessionDeps) {
    const { ctx } = deps;
    this.user = deps.user;
    // The heartbeat sweep checks every heartbeatMs: an expiry more than two sweeps away needs no timer yet.
    this.expiry = createTokenExpiry(this, 2 * ctx.options.heartbeatMs);
    this.expiry.set(deps.expiresAt);
  }

  onFrame(decoded: DecodeResult<ClientFrame>): void | Promise<void> {
    if (!decoded.ok) return this.reject(decoded.code, decoded.code, decoded.message);
    this.deps.ctx.metrics.framesReceived(decoded.frame.t);
    return this.route(decoded.frame);
  }

  expireIfDue(): boolean {
    if (!this.expiry.passed()) return false;
    this.onExpired();
    return true;
  }

  close(): void {
    this.closed = true;
    this.expiry.stop();
    this.topics?.clear();
  }

  now(): number {
    return this.deps.ctx.options.now();
  }

  onExpired(): void {
    this.deps.out.send(errorFrame('unauthorized', 'Access token expired: refresh it, or reconnect with a new one'));
    this.deps.host.drop(CloseCode.tokenExpired, 'access token expired', 'expired');
  }

  onError(error: unknown): void {
    this.deps.host.fail(error);
  }

  private subscriptions(): Subscriptions {
    const { ctx, out, host, user } = this.deps;
    return (this.topics ??= createSubscriptions({
      user,
      out,
      host,
      fanout: ctx.fanout,
      alerts: ctx.alertsTopic,
      log: ctx.log,
      streamFanout: ctx.streamFanout,
      streamLimits: ctx.options,
      metrics: ctx.metrics,
      maxTopics: ctx.options.maxTopicsPerConnection,
    }));
  }

  private reject(code: Parameters<Metrics['frameRejected']>[0], errorCode: ErrorCode, message: string): void {
    const { ctx, out, host } = this.deps;
    ctx.metrics.frameRejected(code);
    out.send(errorFrame(errorCode, message));
    this.badFrames += 1;
    if (this.badFrames > ctx.options.maxBadFrames) host.drop(CloseCode.badFrame, 'too many bad frames', 'bad-frames');
  }

  private async refresh(token: string): Promise<void> {
    const { ctx, out, host, user } = this.deps;
    const check = await ctx.verifyToken(token);
    if (this.closed) return;
    if (!check.ok) {
      out.send(errorFrame('unauthorized', check.reason));
      // As at the handshake: an expired token is 4011, so the hub says "expired", not "refused".
      if (check.expired) return host.drop(CloseCode.tokenExpired, 'access token expired', 'expired');
      return host.drop(CloseCode.unauthorized, 'access token refused', 'unauthorized');
    }
    if (check.user !== user) {
      out.send(errorFrame('unauthorized', `A refreshed token must belong to the same user (${user}), not ${check.user}`));
      return host.drop(CloseCode.unauthorized, 'access token refused', 'wrong-user');
    }
    this.expiry.set(check.expiresAt);
    out.send({ t: 'refreshed', user, ...(check.expiresAt === undefined ? {} : { tokenExpiresAt: check.expiresAt }) });
  }

  private route(frame: ClientFrame): void | Promise<void> {
    const { ctx, out, user } = this.deps;
    switch (frame.t) {
      case 'subscribe':
        return this.subscriptions().subscribe(frame);
      case 'unsubscribe':
        return this.subscriptions().unsubscribe(frame);
      case 'ping':
        return out.send({ t: 'pong', at: frame.at });
      case 'pong':
        return; // Liveness was recorded on receipt.
      case 'hello':
        return this.reject('protocol', 'invalid', 'Already greeted: hello is only valid as the first frame');
      case 'send':
        // Frames behind a message wait for its ack, so acks go out in the order messages came.
        return ctx.clientMessages.handle(user, frame, ctx.metrics).then((ack) => out.send(ack));
      case 'refresh':
        return this.refresh(frame.token);
      default:
        return assertNever(frame);
    }
  }
}

export function createSession(deps: SessionDeps): Session {
  return new ClientSession(deps);
}
