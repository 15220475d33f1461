/**
 * A lease in Redis that at most one node holds at a time ("this node evaluates alerts"), with a
 * fence: each new holder gets a number one larger than the last holder's (`INCR` in the same
 * script as the `SET NX PX` that took the lease), and a store that checks it refuses writes from an
 * older holder, so a node that merely believes it still holds (paused, partitioned) cannot write
 * over its successor.
 *
 * The holder renews every `ttlMs / 3`, only while the key still holds its token. It counts itself
 * holding until `ttlMs` (less a drift allowance) after it *sent* its last successful renewal, a
 * moment before Redis can let the key expire, so two nodes never both believe they hold. Losing
 * Redis or failing to renew in time ends the tenure (`onChange(false, fence)`); a node without
 * the lease tries to take it at the same pace, so a dead holder is replaced within about
 * `ttlMs + ttlMs / 3`. `close()` ends the tenure and releases the key for the next one at once.
 *
 * The fence is only as durable as Redis: one that restarts without its data counts from 1 again,
 * so fencing across such a restart needs persistence (AOF), as the alerts themselves do.
 */
import { randomUUID } from 'node:crypto';
import { closeRedis, connectRedis, type RedisConnectionOptions, type RedisLogger } from './client';

/** Commands time out after a third of the TTL (one renewal period); the rest as `RedisConnectionOptions`. */
export interface LeaseOptions extends Omit<RedisConnectionOptions, 'commandTimeoutMs'> {
  /** Holds the holder's token, with the lease's TTL. */
  readonly key: string;
  /** Holds the latest holder's fence. */
  readonly fenceKey: string;
  /** How long a tenure lasts without renewal. Default 3 000 ms. */
  readonly ttlMs?: number;
  /** The tenure with `fence` began (`true`) or ended (`false`). Called in order, never twice the same. */
  readonly onChange: (holding: boolean, fence: number) => void;
  /** Hears the connection's outages, failed renewals and errors thrown by `onChange`. */
  readonly logger: RedisLogger;
  /** Tells this holder apart in Redis. Default a random UUID. */
  readonly token?: string;
}

export interface Lease {
  /** The fence of the tenure this node holds now, or undefined when it does not hold the lease. */
  fence(): number | undefined;
  /** Ends the tenure if any (`onChange(false, …)` first), releases the key, disconnects. Idempotent. */
  close(): Promise<void>;
}

type LeaseState = { readonly s: 'seeking' } | { readonly s: 'holding'; readonly fence: number; readonly validUntil: number } | { readonly s: 'closed' };

/** KEYS: lease, fence. ARGV: token, ttl. Returns the fence, or false when another node holds it. */
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
-- Ours already: the reply to an earlier acquire or renewal was lost on the way.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return false
`;

/** KEYS: lease. ARGV: token, ttl. Returns 1 when renewed, 0 when it is no longer ours. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS: lease. ARGV: token. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Clock drift allowed between this process and Redis, as Redlock does
 * (https://redis.io/docs/latest/develop/use/patterns/distributed-locks/): 1 % of the TTL plus 2 ms.
 */
const driftMs = (ttlMs: number): number => Math.floor(ttlMs * 0.01) + 2;

/** Connects and starts seeking the lease at once. */
export async function openLease(options: LeaseOptions): Promise<Lease> {
  const ttlMs = options.ttlMs ?? 3_000;
  const periodMs = Math.max(1, Math.floor(ttlMs / 3));
  const token = options.token ?? randomUUID();
  const report = (error: unknown, what: string): void => options.logger.warn({ err: error, lease: options.key }, what);
  // A step never outlasts its period, so a hung Redis cannot hold a tenure past its validity.
  const client = await connectRedis({ ...options, commandTimeoutMs: periodMs }, 'alert-lease');

  let state: LeaseState = { s: 'seeking' };
  let stepTimer: ReturnType<typeof setTimeout> | undefined;
  let expiryTimer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let closing: Promise<void> | undefined;

  function notify(holding: boolean, fence: number): void {
    try {
      options.onChange(holding, fence);
    } catch (error) {
      report(error, 'the lease change handler failed');
    }
  }

  /** Every change of state goes through here, so `onChange` hears each tenure begin and end once. */
  function transition(to: LeaseState): void {
    const from = state;
    state = to;
    clearTimeout(expiryTimer);
    const was = from.s === 'holding' ? from.fence : undefined;
    const now = to.s === 'holding' ? to.fence : undefined;
    if (was !== undefined && was !== now) notify(false, was);
    if (now !== undefined && now !== was) notify(true, now);
    if (to.s === 'holding') expiryTimer = setTimeout(() => state === to && transition({ s: 'seeking' }), to.validUntil - performance.now());
  }

  async function step(): Promise<void> {
    const sentAt = performance.now();
    const validUntil = sentAt + ttlMs - driftMs(ttlMs);
    try {
      if (state.s === 'holding') {
        const renewed = await client.eval(RENEW, { keys: [options.key], arguments: [token, String(ttlMs)] });
        if (state.s !== 'holding') return;
        transition(Number(renewed) === 1 ? { ...state, validUntil } : { s: 'seeking' });
      } else if (state.s === 'seeking') {
        const fence = await client.eval(ACQUIRE, { keys: [options.key, options.fenceKey], arguments: [token, String(ttlMs)] });
        if (state.s === 'seeking' && fence !== null) transition({ s: 'holding', fence: Number(fence), validUntil });
      }
    } catch (error) {
      // Unanswered: a tenure runs on until its validity ends (the expiry timer), then it is lost.
      // While Redis is down every step fails: the connection already logs the outage once.
      if (client.isReady) report(error, 'a lease step failed');
    }
  }

  function loop(): void {
    if (closing) return;
    inFlight = step().finally(() => {
      if (!closing) stepTimer = setTimeout(loop, periodMs);
    });
  }

  loop();
  return {
    fence: () => (state.s === 'holding' ? state.fence : undefined),
    close() {
      closing ??= (async () => {
        clearTimeout(stepTimer);
        await inFlight;
        const held = state.s === 'holding';
        transition({ s: 'closed' });
        if (held) await client.eval(RELEASE, { keys: [options.key], arguments: [token] }).catch((error: unknown) => report(error, 'the lease could not be released'));
        await closeRedis(client);
      })();
      return closing;
    },
  };
}
