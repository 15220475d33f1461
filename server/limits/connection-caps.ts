/**
 * Who may hold a WebSocket connection: the caps on connections server-wide, on connections not yet
 * signed in per address, and on connections per user. A socket is admitted once upgraded (or
 * refused with 1013 when the server or its address is full) and holds a ticket until it closes; at
 * `hello` the ticket signs in as the user (or is refused with 4013 when the user already holds its
 * share: the newest connection is the one refused, so a runaway client can neither evict the
 * user's working connections nor have two devices evict each other in turn). Signing in hands back
 * the connection's frame limiter, with the user's `send` bucket, which outlives the user's
 * connections until it has refilled, so reconnecting does not reset it.
 */
import { CloseCode } from '../../lib/wire/close-codes';
import type { FrameOf, ServerFrame } from '../../lib/wire/protocol';
import type { RefusalReason } from '../metrics';
import { addressKey } from './address';
import { createFrameLimiter, type FrameLimiter, type LimiterLink } from './frame-limits';
import type { LimitMetrics } from './metrics';
import type { Limits } from './options';
import { createTokenBucket, type TokenBucket } from './token-bucket';

/** Why a connection is turned away: the `error` it is sent, then its close. */
export interface CapRefusal {
  readonly error: FrameOf<ServerFrame, 'error'>;
  readonly closeCode: number;
  /** Close reason (at most 123 bytes by RFC 6455 §5.5). */
  readonly closeReason: string;
  readonly metric: RefusalReason;
}

export type Admission = { readonly ok: true; readonly ticket: Ticket } | ({ readonly ok: false } & CapRefusal);

export type { LimiterLink } from './frame-limits';

export type SignIn = { readonly ok: true; readonly frames: FrameLimiter } | ({ readonly ok: false } & CapRefusal);

/** One admitted connection's place, from the upgrade until it closes. */
export interface Ticket {
  /** The handshake accepted `user`: the connection leaves the pending count and joins the user's. */
  signIn(user: string, link: LimiterLink): SignIn;
  /** The connection closed. Idempotent. */
  release(): void;
}

export interface ConnectionCaps {
  /** An upgraded socket from `address` asks in. */
  admit(address: string | undefined): Admission;
  /** Connections holding a ticket (greeted or not). */
  count(): number;
  /** Forgets the users' buckets and their timers (the server is closing). */
  stop(): void;
}

export interface ConnectionCapsDeps {
  readonly limits: Limits;
  readonly metrics: LimitMetrics;
  /** Monotonic ms. Default `performance.now`. */
  readonly clock?: () => number;
}

interface UserShare {
  connections: number;
  readonly send: TokenBucket;
  /** While the user holds no connection: forgets the share once its bucket is full again. */
  idle?: ReturnType<typeof setTimeout>;
}

type Place = { readonly s: 'pending' } | { readonly s: 'user'; readonly user: string } | { readonly s: 'refused' } | { readonly s: 'released' };
const PENDING: Place = { s: 'pending' };
const REFUSED: Place = { s: 'refused' };
const RELEASED: Place = { s: 'released' };

/** What a ticket asks of the caps that issued it. */
interface Desk {
  signIn(key: string, user: string, link: LimiterLink): { place: Place; result: SignIn };
  /** Frees the place a ticket held (not yet released). */
  release(key: string, place: Place): void;
}

/** One per connection, so a class: its place and a reference to the caps, its methods shared. */
class SeatTicket implements Ticket {
  private place: Place = PENDING;

  constructor(
    private readonly desk: Desk,
    private readonly key: string,
  ) {}

  signIn(user: string, link: LimiterLink): SignIn {
    if (this.place.s !== 'pending') throw new Error(`A connection signs in once (it is ${this.place.s})`);
    const { place, result } = this.desk.signIn(this.key, user, link);
    this.place = place;
    return result;
  }

  release(): void {
    if (this.place.s === 'released') return;
    this.desk.release(this.key, this.place);
    this.place = RELEASED;
  }
}

const refusal = (closeCode: number, metric: RefusalReason, closeReason: string, message: string): { ok: false } & CapRefusal => ({
  ok: false,
  error: { t: 'error', code: 'rate-limited', message },
  closeCode,
  closeReason,
  metric,
});

export function createConnectionCaps(deps: ConnectionCapsDeps): ConnectionCaps {
  const { limits } = deps;
  const clock = deps.clock ?? (() => performance.now());
  let open = 0;
  const pending = new Map<string, number>();
  const users = new Map<string, UserShare>();

  const changePending = (key: string, by: number) => {
    const next = (pending.get(key) ?? 0) + by;
    if (next > 0) pending.set(key, next);
    else pending.delete(key);
  };

  function share(user: string): UserShare {
    let entry = users.get(user);
    if (!entry) {
      entry = { connections: 0, send: createTokenBucket(limits.userSendRate, clock()) };
      users.set(user, entry);
    }
    clearTimeout(entry.idle);
    entry.idle = undefined;
    return entry;
  }

  function leave(user: string): void {
    const entry = users.get(user);
    if (!entry) return;
    entry.connections -= 1;
    if (entry.connections > 0) return;
    entry.idle = setTimeout(() => users.delete(user), entry.send.untilFull(clock()));
    entry.idle.unref();
  }

  const desk: Desk = {
    signIn(key, user, link) {
      changePending(key, -1);
      const entry = share(user);
      if (entry.connections >= limits.maxClientsPerUser) {
        const result = refusal(
          CloseCode.tooManyConnections,
          'too-many-connections',
          'too many connections for this user',
          `Too many connections for user ${user}: at most ${limits.maxClientsPerUser} at once; close another tab or device, or try again later`,
        );
        return { place: REFUSED, result };
      }
      entry.connections += 1;
      const frames = createFrameLimiter({ limits, user, userSend: entry.send, metrics: deps.metrics, clock, link });
      return { place: { s: 'user', user }, result: { ok: true, frames } };
    },
    release(key, place) {
      if (place.s === 'pending') changePending(key, -1);
      if (place.s === 'user') leave(place.user);
      open -= 1;
    },
  };

  return {
    admit(address) {
      if (open >= limits.maxClients) {
        return refusal(
          CloseCode.tryAgainLater,
          'server-busy',
          'server busy',
          `Server busy: it holds its limit of ${limits.maxClients} connections; try again later`,
        );
      }
      const key = addressKey(address);
      if (limits.maxPendingPerAddress > 0 && (pending.get(key) ?? 0) >= limits.maxPendingPerAddress) {
        return refusal(
          CloseCode.tryAgainLater,
          'too-many-pending',
          'too many pending connections',
          `Too many connections from your address waiting to sign in (at most ${limits.maxPendingPerAddress}); send hello, or try again later`,
        );
      }
      open += 1;
      changePending(key, 1);
      return { ok: true, ticket: new SeatTicket(desk, key) };
    },
    count: () => open,
    stop() {
      for (const entry of users.values()) clearTimeout(entry.idle);
      users.clear();
    },
  };
}
