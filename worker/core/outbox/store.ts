/**
 * What the outbox holds: the client messages it carries, an entry as kept (its idempotency id,
 * local order, state) and the store that keeps them. Declared here, beside the outbox, and
 * implemented on IndexedDB by `worker/store/outbox-store.ts`.
 */
import type { AlertMessage } from '../../../lib/wire/alerts';

/**
 * Every client message kind the outbox carries (`send {id, kind, body}`); a later kind joins this
 * union and the outbox sends it unchanged.
 */
export type ClientMessage = AlertMessage;

/**
 * A client message in the outbox. `id` is its idempotency id (sent unchanged on every try); `seq`
 * is the local order it is sent in. `queued` ones wait to be sent (or for their ack); `failed` ones
 * were refused as `invalid` (or grew too old) and stay, with `reason`, for the user to see.
 */
export type OutboxEntry = ClientMessage & {
  readonly id: string;
  readonly seq: number;
  /** The user it was written for (the token's subject); `null` when unknown: sent as whoever is connected. */
  readonly user: string | null;
  readonly createdAt: number;
  /** Tries that ended without an answer or with a transient refusal; drives the retry delay. */
  readonly attempts: number;
  readonly state: 'queued' | 'failed';
  readonly reason?: string;
};

/** What a new entry needs; the store gives it its `seq`. */
export type NewOutboxEntry = ClientMessage & {
  readonly id: string;
  readonly user: string | null;
  readonly createdAt: number;
};

/** Every change is one committed transaction: an entry accepted is on disk before it is sent. */
export interface OutboxStore {
  /** Every entry, queued and failed, in `seq` order. */
  all(): Promise<OutboxEntry[]>;
  /** Writes a queued entry after every other one; resolves with it once committed. */
  add(entry: NewOutboxEntry): Promise<OutboxEntry>;
  /** Replaces entries (by id) that are still there; missing ones are not brought back. */
  update(entries: readonly OutboxEntry[]): Promise<void>;
  /** Deletes entries by id; unknown ids are ignored. */
  remove(ids: readonly string[]): Promise<void>;
}
