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
 * The in-memory list mirrors the store and changes only after a write committed (`./mirror.ts`);
 * the head's state and its timer are `./flight.ts`; recording answers is `./settlements.ts`. The
 * next message goes out as soon as an ack arrives, while its removal commits.
 */
import type { FrameOf, ServerFrame } from '../../../lib/wire/protocol';
import { backoffDelay, type BackoffOptions } from '../../../lib/backoff';
import { createHeadFlight } from './flight';
import { createOutboxMirror, type OutboxChange } from './mirror';
import { createSettlements } from './settlements';
import type { ClientMessage, OutboxEntry, OutboxStore } from './store';
import type { Clock, Logger } from '../platform';

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

export function createOutbox(deps: OutboxDeps): Outbox {
  const { clock, log } = deps;
  const options: OutboxOptions = { ...DEFAULT_OUTBOX_OPTIONS, ...deps.options };
  /** The user of the open connection, `null` while not open. */
  let openFor: string | null = null;
  let stopped = false;
  const mirror = createOutboxMirror({ store: deps.store, log, onLoaded: () => pump() });
  const flight = createHeadFlight(clock);
  const settlements = createSettlements({
    mirror,
    log,
    recorded: () => pump(),
    notRecorded: (failures) => {
      if (!stopped && flight.state.s === 'idle') flight.wait(null, backoffDelay(failures - 1, options.retry, deps.random), pump);
    },
  });

  const isFor = (entry: OutboxEntry, user: string): boolean => entry.user === null || entry.user === user;
  const carries = (id: string): boolean => flight.state.s !== 'idle' && flight.state.id === id;

  /** Sends the head if the connection is open and nothing else is under way. */
  function pump(): void {
    if (stopped || !mirror.isLoaded() || openFor === null || flight.state.s !== 'idle') return;
    const user = openFor;
    const now = clock.now();
    const waiting = mirror.entries().filter((entry) => entry.state === 'queued' && !settlements.has(entry.id));
    const expired = waiting.filter((entry) => now - entry.createdAt > options.maxAgeMs);
    if (expired.length > 0) settlements.settle(expired.map((entry) => ({ ...entry, state: 'failed' as const, reason: EXPIRED_REASON })), []);
    // The expired ones are settling now too.
    const head = waiting.find((entry) => !settlements.has(entry.id) && isFor(entry, user));
    if (!head) return;
    // A refused send means the socket is going away; the close that follows re-sends on the next open.
    if (!deps.send({ t: 'send', id: head.id, kind: head.kind, body: head.body })) return;
    flight.sent(head.id, options.ackTimeoutMs, () => retry(head.id, 'no ack in time'));
  }

  /** The head went unanswered or was refused for now: send it again after a backoff delay. */
  function retry(id: string, reason: string): void {
    const entry = mirror.entries().find((e) => e.id === id);
    if (!entry || stopped) return;
    const next: OutboxEntry = { ...entry, attempts: entry.attempts + 1 };
    mirror.counted(next);
    const delay = backoffDelay(next.attempts - 1, options.retry, deps.random);
    log.info('a client message is sent again later', { id, reason, attempts: next.attempts, delayMs: delay });
    flight.wait(id, delay, pump);
    // Only informative: losing this write costs nothing but a shorter first delay after a restart.
    void mirror.write((store) => store.update([next])).catch((error: unknown) => log.warn('could not store a retry count', { error: String(error) }));
  }

  function receive(frame: AckFrame): void {
    if (stopped) return;
    const entry = mirror.entries().find((e) => e.id === frame.id);
    if (!entry || entry.state !== 'queued') {
      return log.warn('ignored an ack for no queued message', { id: frame.id, known: entry !== undefined });
    }
    if (settlements.has(entry.id)) return log.warn('ignored a repeated ack', { id: frame.id });
    const inFlight = carries(entry.id);
    // Only the head is ever sent, but its ack may come late: after a timeout, or from the
    // connection before this one. Whatever the flight says, the server answered this id.
    if (frame.ok || frame.error.code === 'invalid') {
      if (inFlight) flight.land();
      settlements.settle(frame.ok ? [] : [{ ...entry, state: 'failed', reason: frame.error.message }], frame.ok ? [entry.id] : []);
      return pump();
    }
    if (flight.state.s !== 'idle' && !inFlight) {
      return log.warn('ignored a transient refusal of a message not in flight', { id: frame.id, code: frame.error.code });
    }
    retry(entry.id, `${frame.error.code}: ${frame.error.message}`);
  }

  void mirror.load();

  return {
    entries: () => mirror.entries(),
    async ready() {
      await mirror.load();
    },
    async enqueue(user, message, id) {
      if (!(await mirror.load())) throw new Error('The outbox cannot be read');
      const entry = await mirror.write((store) => store.add({ ...message, id, user, createdAt: clock.now() }));
      mirror.added(entry);
      pump();
      return entry;
    },
    async discard(ids) {
      if (!(await mirror.load())) throw new Error('The outbox cannot be read');
      const gone = new Set(ids.filter((id) => !carries(id)));
      if (gone.size === 0) return;
      await mirror.write((store) => store.remove([...gone]));
      mirror.discarded(gone);
    },
    opened(user) {
      openFor = user;
      if (mirror.isLoaded()) pump();
      else void mirror.load();
    },
    closed() {
      openFor = null;
      // The message in flight may or may not have reached the server: it is sent again on the
      // next open, with the same id, and the server answers the same ack if it applied it.
      if (flight.state.s === 'sent') flight.land();
    },
    receive,
    watch: (listener) => mirror.watch(listener),
    idle: () => mirror.idle(),
    close() {
      stopped = true;
      openFor = null;
      flight.land();
    },
  };
}
