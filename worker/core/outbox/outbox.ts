/**
 * The outbox: client messages written to IndexedDB before anything is sent, sent strictly in order
 * with one in flight (the head), and removed only when the server's ack for that id was handled.
 * At-least-once sending with the same id on every try, plus the server's dedupe by id, gives
 * exactly-once effects (lib/wire/protocol.ts `send` / `ack`; the shared decisions of issue 4).
 *
 * The head is sent whenever the connection is open and nothing else is in flight. Its ack either
 * removes it (`ok`), or marks it failed with the server's reason (`invalid`: it can never succeed,
 * so it stops blocking the queue), or schedules a retry with backoff (any other code). No ack within
 * `ackTimeoutMs` is retried the same way; a disconnect re-sends it on the next open. A message that
 * waited longer than `maxAgeMs` fails with 'expired before it could be sent'. Acks that are for no
 * queued message (unknown, duplicate, for a failed one) are logged and change nothing; malformed
 * ones never get here (the codec refuses them).
 *
 * The in-memory list mirrors the store and changes only after a write committed, so nothing is sent
 * (or shown) that a crash could take back. All writes run one after another on one chain, so a late
 * write can never bring back an entry a newer one removed. The next message goes out as soon as
 * an ack arrives, while its removal commits (see `settling`).
 */
import type { FrameOf, ServerFrame } from '../../../lib/wire/protocol';
import { backoffDelay, type BackoffOptions } from '../../../lib/backoff';
import type { ClientMessage, OutboxEntry, OutboxStore } from './store';
import type { Clock, Logger, TimerHandle } from '../platform';

export type AckFrame = FrameOf<ServerFrame, 'ack'>;

export interface OutboxOptions {
  /** How long the server may take to ack the message in flight before it is sent again, in ms. Default 10 000. */
  readonly ackTimeoutMs: number;
  /** Delays before re-sending after a timeout or a transient refusal. Default base 1 s, cap 60 s. */
  readonly retry: BackoffOptions;
  /** Age after which a message still queued fails instead of being sent, in ms. Default 7 days. */
  readonly maxAgeMs: number;
}

export const DEFAULT_OUTBOX_OPTIONS: Readonly<OutboxOptions> = {
  ackTimeoutMs: 10_000,
  retry: { baseMs: 1000, capMs: 60_000 },
  maxAgeMs: 7 * 24 * 3600 * 1000,
};

export const EXPIRED_REASON = 'expired before it could be sent';

export interface OutboxDeps {
  readonly store: OutboxStore;
  /** Sends a frame if the connection is open; returns whether it was handed to the socket. */
  send(frame: { readonly t: 'send'; readonly id: string; readonly kind: string; readonly body: unknown }): boolean;
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
  readonly options?: Readonly<Partial<OutboxOptions>>;
}

/** A committed change to the outbox. */
export interface OutboxChange {
  /** Entries removed because the server acknowledged them (`ok`). */
  readonly acked: readonly OutboxEntry[];
}

export interface Outbox {
  /** Every entry (queued and failed) in send order; empty until the store was read. */
  entries(): readonly OutboxEntry[];
  /** Resolves once the store was read (or reading it failed, logged). */
  ready(): Promise<void>;
  /**
   * Writes a message for `user` (`null`: whoever is connected) and resolves with its entry once
   * the write committed; only then can it be sent. Rejects when storage fails.
   */
  enqueue(user: string | null, message: ClientMessage, id: string): Promise<OutboxEntry>;
  /** Deletes entries locally (failed ones the user discards). The one in flight cannot be removed. */
  discard(ids: readonly string[]): Promise<void>;
  /** The connection opened for `user`: send what is queued for them. */
  opened(user: string): void;
  /** The connection went away: the message in flight is sent again on the next open. */
  closed(): void;
  receive(frame: AckFrame): void;
  /** Calls back after every committed change; returns the unsubscribe function. */
  watch(listener: (change: OutboxChange) => void): () => void;
  /** Resolves once the store was read and every write so far committed. */
  idle(): Promise<void>;
  /** Stops sending and cancels timers; writes already started still commit. */
  close(): void;
}

/** What the head of the queue is doing. */
type Flight =
  | { readonly s: 'idle' }
  /** Sent, waiting for its ack until the timer fires. */
  | { readonly s: 'sent'; readonly id: string; readonly timer: TimerHandle }
  /** Waiting to send again after a timeout, a transient refusal (`id`) or a failed write (`null`). */
  | { readonly s: 'waiting'; readonly id: string | null; readonly timer: TimerHandle };

export function createOutbox(deps: OutboxDeps): Outbox {
  const { store, clock, log } = deps;
  const options: OutboxOptions = { ...DEFAULT_OUTBOX_OPTIONS, ...deps.options };
  let entries: OutboxEntry[] = [];
  let loaded = false;
  let loading: Promise<boolean> | null = null;
  let flight: Flight = { s: 'idle' };
  /**
   * Answered messages whose removal (or failure) is being written. The next message goes out at
   * once, without waiting for that commit: the server has applied this one, so order holds, and if
   * the write is lost the message is sent again after a restart and answered from the server's
   * record. Only the mirror and what watchers hear wait for the commit.
   */
  const settling = new Set<string>();
  /** The user of the open connection, `null` while not open. */
  let openFor: string | null = null;
  /** Consecutive writes that failed, for the delay before trying again. */
  let storageFailures = 0;
  let stopped = false;
  const watchers = new Set<(change: OutboxChange) => void>();

  let chain: Promise<unknown> = Promise.resolve();
  /** Runs `write` after every earlier write; the returned promise settles with it. */
  function serial<T>(write: () => Promise<T>): Promise<T> {
    const result = chain.then(write);
    chain = result.catch(() => {});
    return result;
  }

  /** Reads the store once; after a failure the next caller reads it again. */
  function load(): Promise<boolean> {
    if (loaded) return Promise.resolve(true);
    loading ??= serial(() => store.all()).then(
      (stored) => {
        entries = stored;
        loaded = true;
        const queued = stored.filter((entry) => entry.state === 'queued').length;
        if (stored.length > 0) log.info('outbox loaded', { queued, failed: stored.length - queued });
        changed();
        pump();
        return true;
      },
      (error: unknown) => {
        loading = null;
        log.warn('the outbox could not be read; it is read again on the next open', { error: String(error) });
        return false;
      },
    );
    return loading;
  }

  function changed(acked: readonly OutboxEntry[] = []): void {
    for (const watcher of [...watchers]) {
      try {
        watcher({ acked });
      } catch (error) {
        log.warn('an outbox watcher failed', { error: String(error) });
      }
    }
  }

  function setFlight(next: Flight): void {
    if (flight.s === 'sent' || flight.s === 'waiting') clock.clearTimeout(flight.timer);
    flight = next;
  }

  /** Waits `delay` ms, then sends the head (`id`: the message waiting, if any). */
  function waitThenPump(id: string | null, delay: number): void {
    const timer = clock.setTimeout(() => {
      if (flight.s !== 'waiting' || flight.timer !== timer) return;
      flight = { s: 'idle' };
      pump();
    }, delay);
    setFlight({ s: 'waiting', id, timer });
  }

  const isFor = (entry: OutboxEntry, user: string): boolean => entry.user === null || entry.user === user;

  /** Sends the head if the connection is open and nothing else is under way. */
  function pump(): void {
    if (stopped || !loaded || openFor === null || flight.s !== 'idle') return;
    const user = openFor;
    const now = clock.now();
    const waiting = entries.filter((entry) => entry.state === 'queued' && !settling.has(entry.id));
    const expired = waiting.filter((entry) => now - entry.createdAt > options.maxAgeMs);
    if (expired.length > 0) settle(expired.map((entry) => ({ ...entry, state: 'failed' as const, reason: EXPIRED_REASON })), []);
    // `settling` now also holds the expired ones.
    const head = waiting.find((entry) => !settling.has(entry.id) && isFor(entry, user));
    if (!head) return;
    // A refused send means the socket is going away; the close that follows re-sends on the next open.
    if (!deps.send({ t: 'send', id: head.id, kind: head.kind, body: head.body })) return;
    const timer = clock.setTimeout(() => retry(head.id, 'no ack in time'), options.ackTimeoutMs);
    flight = { s: 'sent', id: head.id, timer };
  }

  /** Commits failures and removals, then mirrors and announces them. */
  function settle(failed: readonly OutboxEntry[], removed: readonly string[]): void {
    const ids = [...failed.map((entry) => entry.id), ...removed];
    for (const id of ids) settling.add(id);
    void serial(async () => {
      if (failed.length > 0) await store.update(failed);
      if (removed.length > 0) await store.remove(removed);
    }).then(
      () => {
        storageFailures = 0;
        for (const id of ids) settling.delete(id);
        const byId = new Map(failed.map((entry) => [entry.id, entry]));
        const gone = new Set(removed);
        const acked = entries.filter((entry) => gone.has(entry.id));
        entries = entries.filter((entry) => !gone.has(entry.id)).map((entry) => byId.get(entry.id) ?? entry);
        for (const entry of failed) log.warn('a client message failed', { id: entry.id, kind: entry.kind, reason: entry.reason });
        changed(acked);
        pump();
      },
      (error: unknown) => {
        // Nothing changed on disk: the message is sent again (same id) after a delay, the server
        // repeats its ack, and recording it is tried again.
        storageFailures++;
        for (const id of ids) settling.delete(id);
        log.warn('the outbox could not record an answer; it tries again', { error: String(error), failures: storageFailures });
        if (!stopped && flight.s === 'idle') waitThenPump(null, backoffDelay(storageFailures - 1, options.retry, deps.random));
      },
    );
  }

  /** The head went unanswered or was refused for now: send it again after a backoff delay. */
  function retry(id: string, reason: string): void {
    const index = entries.findIndex((entry) => entry.id === id);
    const entry = entries[index];
    if (!entry || stopped) return;
    const next: OutboxEntry = { ...entry, attempts: entry.attempts + 1 };
    entries[index] = next;
    const delay = backoffDelay(next.attempts - 1, options.retry, deps.random);
    log.info('a client message is sent again later', { id, reason, attempts: next.attempts, delayMs: delay });
    waitThenPump(id, delay);
    // Only informative: losing this write costs nothing but a shorter first delay after a restart.
    void serial(() => store.update([next])).catch((error: unknown) => log.warn('could not store a retry count', { error: String(error) }));
  }

  function receive(frame: AckFrame): void {
    if (stopped) return;
    const entry = entries.find((e) => e.id === frame.id);
    if (!entry || entry.state !== 'queued') {
      return log.warn('ignored an ack for no queued message', { id: frame.id, known: entry !== undefined });
    }
    if (settling.has(entry.id)) return log.warn('ignored a repeated ack', { id: frame.id });
    const inFlight = flight.s !== 'idle' && flight.id === entry.id;
    // Only the head is ever sent, but its ack may come late: after a timeout, or from the
    // connection before this one. Whatever the flight says, the server answered this id.
    if (frame.ok || frame.error.code === 'invalid') {
      if (inFlight) setFlight({ s: 'idle' });
      settle(frame.ok ? [] : [{ ...entry, state: 'failed', reason: frame.error.message }], frame.ok ? [entry.id] : []);
      return pump();
    }
    if (flight.s !== 'idle' && !inFlight) {
      return log.warn('ignored a transient refusal of a message not in flight', { id: frame.id, code: frame.error.code });
    }
    retry(entry.id, `${frame.error.code}: ${frame.error.message}`);
  }

  void load();

  return {
    entries: () => entries,
    async ready() {
      await load();
    },
    async enqueue(user, message, id) {
      if (!(await load())) throw new Error('The outbox cannot be read');
      const entry = await serial(() => store.add({ ...message, id, user, createdAt: clock.now() }));
      entries = [...entries, entry];
      changed();
      pump();
      return entry;
    },
    async discard(ids) {
      if (!(await load())) throw new Error('The outbox cannot be read');
      const gone = new Set(ids.filter((id) => flight.s === 'idle' || flight.id !== id));
      if (gone.size === 0) return;
      await serial(() => store.remove([...gone]));
      entries = entries.filter((entry) => !gone.has(entry.id));
      changed();
    },
    opened(user) {
      openFor = user;
      if (loaded) pump();
      else void load();
    },
    closed() {
      openFor = null;
      // The message in flight may or may not have reached the server: it is sent again on the
      // next open, with the same id, and the server answers the same ack if it applied it.
      if (flight.s === 'sent') setFlight({ s: 'idle' });
    },
    receive,
    watch(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
    async idle() {
      await load();
      for (let seen: Promise<unknown> | null = null; seen !== chain; ) {
        seen = chain;
        await chain;
      }
    },
    close() {
      stopped = true;
      openFor = null;
      setFlight({ s: 'idle' });
    },
  };
}
