/**
 * The one interface every alert store implements (memory for tests, SQLite by default, Redis for
 * several nodes, which adds what `SharedAlertStore` says): the
 * alerts themselves, the client message ids already applied with the ack each got, and the last
 * price of every symbol. Applying a message records its id and its effect in one transaction, so
 * after a crash either both happened or neither did: a message is applied at most once, and a
 * repeated id is answered from the record without applying anything. The records are bounded: at
 * most `perUser` per user (the oldest go first, in the same transaction) and none older than the
 * retention (`trimApplied`). Every method is async so a networked store fits the same shape.
 */
import type { ServerAlert } from '../../lib/wire/alerts';
import type { ErrorCode } from '../../lib/wire/protocol';
import type { HeldAlert } from './types';

/** An `ack` frame without its `t` and `id`: what is stored per message id and sent again for a repeat. */
export type AckOutcome =
  | { readonly ok: true; readonly result?: unknown }
  | { readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string } };

/** What applying a message changes. */
export type AlertEffect = { readonly type: 'put'; readonly held: HeldAlert } | { readonly type: 'delete'; readonly alertId: string };

/** One applied client message: recorded with its ack, its effect applied, atomically. */
export interface AppliedMessage {
  readonly user: string;
  readonly messageId: string;
  /** When it was applied (ms); records older than the retention are trimmed. */
  readonly at: number;
  readonly ack: AckOutcome;
  /** None for a refusal or a message that changed nothing. */
  readonly effect?: AlertEffect;
}

/** How many message records `apply` keeps. */
export interface RecordLimits {
  /** A user's records beyond this many are forgotten, oldest first; the one being applied is always kept. */
  readonly perUser: number;
}

export interface SymbolPrice {
  readonly symbol: string;
  readonly price: number;
  readonly at: number;
}

export interface AlertStore {
  /** `'memory'`, `'sqlite'` or `'redis'`, for logs. */
  readonly kind: string;
  /** Every alert and every symbol's last saved price, to rebuild the engine at start. */
  load(): Promise<{ readonly alerts: HeldAlert[]; readonly prices: SymbolPrice[] }>;
  /** The ack a message id of this user already got, if it was applied. */
  findAck(user: string, messageId: string): Promise<AckOutcome | undefined>;
  /**
   * Records the message and applies its effect in one transaction, forgetting the user's oldest
   * records beyond `limits.perUser`; throws `DuplicateMessageError` (changing nothing) if the id
   * is already recorded.
   */
  apply(message: AppliedMessage, limits: RecordLimits): Promise<void>;
  /**
   * Writes what firing and expiry change (status, `firedAt`, `firedPrice`, `fireCount`) of alerts
   * that still exist; a deleted one stays deleted.
   */
  saveStates(alerts: readonly ServerAlert[]): Promise<void>;
  savePrices(prices: readonly SymbolPrice[]): Promise<void>;
  /** Forgets applied message ids recorded before `before`; resolves with how many. */
  trimApplied(before: number): Promise<number>;
  /** Releases the store. Idempotent. */
  close(): Promise<void>;
}

/** A user's alerts as a shared store holds them, and the revision they are at. */
export interface UserAlerts {
  readonly alerts: HeldAlert[];
  /** Grows whenever one of the user's alerts changes (apply, or saveStates); 0 before any. */
  readonly revision: number;
}

export interface ApplyOptions {
  /**
   * Applies only if the user's alerts are still at this revision, else throws
   * `StaleRevisionError` and changes nothing: the message was decided against alerts another
   * node has changed since. A repeated id is refused as a duplicate before the revision is looked at.
   */
  readonly ifRevision?: number;
}

/**
 * An alert store several server nodes share (Redis). Each node decides a message against the
 * user's alerts as the store holds them (`userAlerts`) and applies it only if they are unchanged
 * (`ifRevision`), retrying on `StaleRevisionError`: optimistic concurrency, so a decision (the
 * per-user limit, an alert id already taken) sees every node's writes. Firing state is written
 * only by the node holding the alert lease (`leaseKey`), under its fence.
 */
export interface SharedAlertStore extends AlertStore {
  userAlerts(user: string): Promise<UserAlerts>;
  /** As `AlertStore.apply`; also throws `AlertIdTakenError` for a put of another user's alert id. */
  apply(message: AppliedMessage, limits: RecordLimits, options?: ApplyOptions): Promise<void>;
  /**
   * As `AlertStore.saveStates`; with `fence`, writes only if it is the lease's current fence (the
   * value at `leaseFenceKey`), else throws `FencedOffError` and writes nothing.
   */
  saveStates(alerts: readonly ServerAlert[], fence?: number): Promise<void>;
  /** The key of the lease "one node evaluates alerts" (see `server/redis/lease.ts`). */
  readonly leaseKey: string;
  /** The key of that lease's fence: the number each new holder gets, one more than the last. */
  readonly leaseFenceKey: string;
  /**
   * The pub/sub channel on which every change of a user's alerts (apply, saveStates) is announced
   * as `<revision> <user>`, in the same atomic step as the change.
   */
  readonly changesChannel: string;
}
