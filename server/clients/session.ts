/**
 * A greeted client's session: its user, its topics and the access token in force, and the router
 * for every frame after the welcome. Bad frames are counted against `maxBadFrames`; `send` acks go
 * out in the order the messages came (the frame queue waits for each); `refresh` lets a valid token
 * of the same user take over on this socket and restarts the expiry countdown, an expired one
 * closes it with 4011 and anything else with 4010; a token expiring while connected closes it with 4011.
 */
import { randomUUID } from 'node:crypto';
import { CloseCode } from '../../lib/wire/close-codes';
import type { DecodeResult } from '../../lib/wire/codec';
import { assertNever, type ClientFrame, type ErrorCode } from '../../lib/wire/protocol';
import type { Metrics, RefusalReason } from '../metrics';
import type { FanoutTarget } from '../prices/fanout';
import { createStreamTopics } from '../streams/topics';
import type { ClientContext } from './context';
import { errorFrame, type Outbound } from './outbound';
import { createSubscriptions } from './subscriptions';
import { createTokenExpiry } from './token-expiry';

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

export interface SessionDeps {
  readonly ctx: ClientContext;
  readonly user: string;
  /** When the token of `hello` expires (ms); undefined for one that does not. */
  readonly expiresAt: number | undefined;
  readonly out: Outbound;
  /** Closes the client (guarded: a failure closes it with 1011). */
  readonly drop: (code: number, reason: string, refusal?: RefusalReason) => void;
  /** A handler failed unexpectedly: closes the client with 1011. */
  readonly fail: (error: unknown) => void;
}

export function createSession(deps: SessionDeps): Session {
  const { ctx, user, out, drop } = deps;
  const { options } = ctx;
  const id = randomUUID();
  let closed = false;
  let badFrames = 0;
  const target: FanoutTarget = {
    bufferedAmount: () => out.bufferedAmount(),
    deliver: (frames) => out.sendStates(frames),
  };
  const subscriptions = createSubscriptions({
    user,
    target,
    fanout: ctx.fanout,
    book: ctx.book,
    streams: createStreamTopics({ log: ctx.log, fanout: ctx.streamFanout, out, metrics: ctx.metrics, limits: options, drop, onError: deps.fail }),
    alerts: ctx.alertsTopic,
    out,
    metrics: ctx.metrics,
    maxTopics: options.maxTopicsPerConnection,
  });
  const expiry = createTokenExpiry({ now: options.now, onExpired: expire, onError: deps.fail });
  expiry.set(deps.expiresAt);

  function expire(): void {
    out.send(errorFrame('unauthorized', 'Access token expired: refresh it, or reconnect with a new one'));
    drop(CloseCode.tokenExpired, 'access token expired', 'expired');
  }

  function reject(code: Parameters<Metrics['frameRejected']>[0], errorCode: ErrorCode, message: string): void {
    ctx.metrics.frameRejected(code);
    out.send(errorFrame(errorCode, message));
    badFrames += 1;
    if (badFrames > options.maxBadFrames) drop(CloseCode.badFrame, 'too many bad frames', 'bad-frames');
  }

  async function refresh(token: string): Promise<void> {
    const check = await ctx.verifyToken(token);
    if (closed) return;
    if (!check.ok) {
      out.send(errorFrame('unauthorized', check.reason));
      // As at the handshake: an expired token is 4011, so the hub says "expired", not "refused".
      if (check.expired) return drop(CloseCode.tokenExpired, 'access token expired', 'expired');
      return drop(CloseCode.unauthorized, 'access token refused', 'unauthorized');
    }
    if (check.user !== user) {
      out.send(errorFrame('unauthorized', `A refreshed token must belong to the same user (${user}), not ${check.user}`));
      return drop(CloseCode.unauthorized, 'access token refused', 'wrong-user');
    }
    expiry.set(check.expiresAt);
    out.send({ t: 'refreshed', user, ...(check.expiresAt === undefined ? {} : { tokenExpiresAt: check.expiresAt }) });
  }

  function route(frame: ClientFrame): void | Promise<void> {
    switch (frame.t) {
      case 'subscribe':
        return subscriptions.subscribe(frame);
      case 'unsubscribe':
        return subscriptions.unsubscribe(frame);
      case 'ping':
        return out.send({ t: 'pong', at: frame.at });
      case 'pong':
        return; // Liveness was recorded on receipt.
      case 'hello':
        return reject('protocol', 'invalid', 'Already greeted: hello is only valid as the first frame');
      case 'send':
        // Frames behind a message wait for its ack, so acks go out in the order messages came.
        return ctx.clientMessages.handle(user, frame).then((ack) => out.send(ack));
      case 'refresh':
        return refresh(frame.token);
      default:
        return assertNever(frame);
    }
  }

  return {
    id,
    user,
    onFrame(decoded) {
      if (!decoded.ok) return reject(decoded.code, decoded.code, decoded.message);
      ctx.metrics.framesReceived(decoded.frame.t);
      return route(decoded.frame);
    },
    expireIfDue() {
      if (!expiry.passed()) return false;
      expire();
      return true;
    },
    close() {
      closed = true;
      expiry.stop();
      subscriptions.clear();
    },
  };
}
