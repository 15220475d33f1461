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
import { createTokenBucket, createWindowCount, type TokenBucket } from './token-bucket';

export interface FrameLimiter {
  /** True: handle `frame`. False: it was refused, and answered if its type is answered. */
  admit(frame: ClientFrame): boolean;
}

export interface FrameLimiterDeps {
  readonly limits: Pick<Limits, 'subscribeRate' | 'sendRate' | 'userSendRate' | 'controlRate' | 'maxRateLimited' | 'rateLimitWindowMs'>;
  readonly user: string;
  /** The user's `send` bucket, shared by all its connections to this server. */
  readonly userSend: TokenBucket;
  readonly out: { send(frame: ServerFrame): void };
  /** Closes the client. */
  readonly drop: (code: number, reason: string, refusal?: RefusalReason) => void;
  readonly metrics: LimitMetrics;
  /** Monotonic ms. */
  readonly clock: () => number;
}

const describe = (rate: RateLimit): string => `${rate.burst} at once, ${rate.perSecond} a second`;

export function createFrameLimiter(deps: FrameLimiterDeps): FrameLimiter {
  const { limits, out, clock } = deps;
  const now = clock();
  const subscriptions = createTokenBucket(limits.subscribeRate, now);
  const sends = createTokenBucket(limits.sendRate, now);
  const control = createTokenBucket(limits.controlRate, now);
  const refusals = createWindowCount(limits.maxRateLimited, limits.rateLimitWindowMs);
  let closed = false;

  const message = (type: string, scope: string, waitMs: number) =>
    `Rate limited: too many ${type} frames (${scope}); retry in ${waitMs} ms`;

  /** Counts a refusal; the one too many closes the connection. Returns false for `admit`. */
  function refused(frame: ClientFrame, at: number): false {
    deps.metrics.frameRateLimited(frame.t);
    if (refusals.add(at) && !closed) {
      closed = true;
      const seconds = limits.rateLimitWindowMs / 1000;
      out.send({
        t: 'error',
        code: 'rate-limited',
        message: `Closed: more than ${limits.maxRateLimited} frames refused by the rate limit within ${seconds} s; reconnect later`,
      });
      deps.drop(CloseCode.rateLimited, 'rate limited', 'rate-limited');
    }
    return false;
  }

  function admitSend(frame: Extract<ClientFrame, { t: 'send' }>, at: number): boolean {
    const own = sends.wait(at);
    const shared = deps.userSend.wait(at);
    if (own === 0 && shared === 0) {
      sends.take(at);
      deps.userSend.take(at);
      return true;
    }
    const scope = own >= shared ? `${describe(limits.sendRate)} per connection` : `${describe(limits.userSendRate)} for user ${deps.user}`;
    const retryAfterMs = Math.max(own, shared);
    if (!closed) out.send({ t: 'ack', id: frame.id, ok: false, error: { code: 'rate-limited', message: message('send', scope, retryAfterMs), retryAfterMs } });
    return refused(frame, at);
  }

  return {
    admit(frame) {
      const at = clock();
      switch (frame.t) {
        case 'subscribe':
        case 'unsubscribe': {
          const retryAfterMs = subscriptions.take(at);
          if (retryAfterMs === 0) return true;
          const text = message(frame.t, `subscribe and unsubscribe: ${describe(limits.subscribeRate)} per connection`, retryAfterMs);
          if (!closed) out.send({ t: 'error', code: 'rate-limited', message: text, topic: frame.topic, retryAfterMs });
          return refused(frame, at);
        }
        case 'send':
          return admitSend(frame, at);
        case 'refresh':
        case 'ping':
        case 'pong': {
          const retryAfterMs = control.take(at);
          if (retryAfterMs === 0) return true;
          if (frame.t === 'refresh' && !closed) {
            const text = message('refresh', `ping, pong and refresh: ${describe(limits.controlRate)} per connection`, retryAfterMs);
            out.send({ t: 'error', code: 'rate-limited', message: text, retryAfterMs });
          }
          return refused(frame, at);
        }
        case 'hello':
          return true; // Refused as a protocol error by the session, and counted against maxBadFrames.
        default:
          return assertNever(frame);
      }
    },
  };
}
