/**
 * The rate limits on one signed-in connection's frames, checked before a frame is handled. Each
 * class of frame has its own token bucket: `subscribe`/`unsubscribe`, `send` (also against the
 * user's bucket, shared by its connections), and `ping`/`pong`/`refresh`. A refused frame is
 * answered and not handled: `error rate-limited` naming the frame type, its topic and when to
 * retry; for `send` a failed `ack` with the same (the hub's outbox retries it after a backoff, and
 * the id was not recorded, so the retry is applied). A `ping` over its allowance gets no `pong` and
 * a `pong` is dropped: answering a flood would only feed it, and liveness counts any frame. A
 * client that keeps going, more than `maxRateLimited` refusals within `rateLimitWindowMs`, is
 * closed with 4029.
 */
import { CloseCode } from '../../lib/wire/close-codes';
import { assertNever, type ClientFrame, type ServerFrame } from '../../lib/wire/protocol';
import type { RefusalReason } from '../metrics';
import type { LimitMetrics } from './metrics';
import type { Limits, RateLimit } from './options';
import { createTokenBucket, createWindowCount, type TokenBucket, type WindowCount } from './token-bucket';

export interface FrameLimiter {
  /** True: handle `frame`. False: it was refused, and answered if its type is answered. */
  admit(frame: ClientFrame): boolean;
}

/** The connection a limiter answers on and closes. */
export interface LimiterLink {
  readonly out: { send(frame: ServerFrame): void };
  /** Closes the client. */
  drop(code: number, reason: string, refusal?: RefusalReason): void;
}

export interface FrameLimiterDeps {
  readonly limits: Pick<Limits, 'subscribeRate' | 'sendRate' | 'userSendRate' | 'controlRate' | 'maxRateLimited' | 'rateLimitWindowMs'>;
  readonly user: string;
  /** The user's `send` bucket, shared by all its connections to this server. */
  readonly userSend: TokenBucket;
  readonly link: LimiterLink;
  readonly metrics: LimitMetrics;
  /** Monotonic ms. */
  readonly clock: () => number;
}

const describe = (rate: RateLimit): string => `${rate.burst} at once, ${rate.perSecond} a second`;
const message = (type: string, scope: string, waitMs: number) => `Rate limited: too many ${type} frames (${scope}); retry in ${waitMs} ms`;

/** One per signed-in connection, so a class (its methods shared, not closures per connection). */
class BucketLimiter implements FrameLimiter {
  private readonly subscriptions: TokenBucket;
  private readonly sends: TokenBucket;
  private readonly control: TokenBucket;
  private readonly refusals: WindowCount;
  private closed = false;

  constructor(private readonly deps: FrameLimiterDeps) {
    const { limits } = deps;
    const now = deps.clock();
    this.subscriptions = createTokenBucket(limits.subscribeRate, now);
    this.sends = createTokenBucket(limits.sendRate, now);
    this.control = createTokenBucket(limits.controlRate, now);
    this.refusals = createWindowCount(limits.maxRateLimited, limits.rateLimitWindowMs);
  }

  admit(frame: ClientFrame): boolean {
    const { limits, link } = this.deps;
    const at = this.deps.clock();
    switch (frame.t) {
      case 'subscribe':
      case 'unsubscribe': {
        const retryAfterMs = this.subscriptions.take(at);
        if (retryAfterMs === 0) return true;
        const text = message(frame.t, `subscribe and unsubscribe: ${describe(limits.subscribeRate)} per connection`, retryAfterMs);
        if (!this.closed) link.out.send({ t: 'error', code: 'rate-limited', message: text, topic: frame.topic, retryAfterMs });
        return this.refused(frame, at);
      }
      case 'send':
        return this.admitSend(frame, at);
      case 'refresh':
      case 'ping':
      case 'pong': {
        const retryAfterMs = this.control.take(at);
        if (retryAfterMs === 0) return true;
        if (frame.t === 'refresh' && !this.closed) {
          const text = message('refresh', `ping, pong and refresh: ${describe(limits.controlRate)} per connection`, retryAfterMs);
          link.out.send({ t: 'error', code: 'rate-limited', message: text, retryAfterMs });
        }
        return this.refused(frame, at);
      }
      case 'hello':
        return true; // Refused as a protocol error by the session, and counted against maxBadFrames.
      default:
        return assertNever(frame);
    }
  }

  /** Counts a refusal; the one too many closes the connection. Returns false for `admit`. */
  private refused(frame: ClientFrame, at: number): false {
    const { limits, link } = this.deps;
    this.deps.metrics.frameRateLimited(frame.t);
    if (this.refusals.add(at) && !this.closed) {
      this.closed = true;
      const seconds = limits.rateLimitWindowMs / 1000;
      link.out.send({
        t: 'error',
        code: 'rate-limited',
        message: `Closed: more than ${limits.maxRateLimited} frames refused by the rate limit within ${seconds} s; reconnect later`,
      });
      link.drop(CloseCode.rateLimited, 'rate limited', 'rate-limited');
    }
    return false;
  }

  private admitSend(frame: Extract<ClientFrame, { t: 'send' }>, at: number): boolean {
    const { limits, userSend, link } = this.deps;
    const own = this.sends.wait(at);
    const shared = userSend.wait(at);
    if (own === 0 && shared === 0) {
      this.sends.take(at);
      userSend.take(at);
      return true;
    }
    const scope = own >= shared ? `${describe(limits.sendRate)} per connection` : `${describe(limits.userSendRate)} for user ${this.deps.user}`;
    const retryAfterMs = Math.max(own, shared);
    if (!this.closed) link.out.send({ t: 'ack', id: frame.id, ok: false, error: { code: 'rate-limited', message: message('send', scope, retryAfterMs), retryAfterMs } });
    return this.refused(frame, at);
  }
}

export function createFrameLimiter(deps: FrameLimiterDeps): FrameLimiter {
  return new BucketLimiter(deps);
}
