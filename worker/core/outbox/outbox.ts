/**
 * The outbox: client messages written to IndexedDB before anything is sent, sent in order with up
 * to `window` of them in flight, and removed only when the server's ack for that id was handled.
 * At-least-once sending with the same id on every try, plus the server's dedupe by id, gives
 * exactly-once effects (lib/wire/protocol.ts `send` / `ack`; the shared decisions of issue 4).
 *
 * Order: messages go out strictly in queue order, and the server applies one connection's messages
 * in the order they arrive. A message waits (and everything behind it with it) while an earlier one
 * it depends on (`./dependency.ts`: the same alert; a create or update after a delete) is still
 * unanswered, so no answer of "not now" can let it overtake that one. Every ack removes its message
 * (`ok`), or marks it failed with the server's reason (`invalid`: it can never succeed, so it stops
 * blocking the queue and what depends on it goes out next, decided by the server on its own), or
 * holds the queue and sends it again after a delay (any other code: `retryAfterMs` when the server
 * rate-limited it, else backoff; after a rate limit the window also narrows to one message at a
 * time, paced that far apart, until the queue drains or the connection changes). No answer at all
 * within `ackTimeoutMs` while messages are in flight sends them again the same way; a disconnect
 * re-sends them on the next open, oldest first. A message that waited longer than `maxAgeMs`
 * fails with 'expired before it could be sent'. Acks for no queued message (unknown, duplicate,
 * for a failed one) are logged and change nothing; malformed ones never get here (the codec
 * refuses them).
 *
 * The in-memory list mirrors the store and changes only after a write committed (`./mirror.ts`);
 * what is in flight and the timers are `./window.ts`; recording answers, several per transaction,
 * is `./settlements.ts`; where the next look for a message to send starts is `./queue-scan.ts`.
 */
import type { FrameOf, ServerFrame } from '../../../lib/wire/protocol';
import { backoffDelay, type BackoffOptions } from '../../../lib/backoff';
import { mustFollow } from './dependency';
import { createOutboxMirror, type OutboxChange } from './mirror';
import { createQueueScan } from './queue-scan';
import { createSettlements } from './settlements';
import type { ClientMessage, OutboxEntry, OutboxStore } from './store';
import { createSendWindow } from './window';
import type { Clock, Logger } from '../platform';

export type AckFrame = FrameOf<ServerFrame, 'ack'>;

export interface OutboxOptions {
  /**
   * Most messages in flight at once. Default 32: enough to keep a server on the same continent
   * busy, and below the 50 refusals in 10 s after which the reference server closes a connection
   * (4029) should the whole window be refused by its rate limit.
   */
  readonly window: number;
  /** How long the server may go without answering anything in flight before it is sent again, in ms. Default 10 000. */
  readonly ackTimeoutMs: number;
  /** Delays before re-sending after a timeout or a transient refusal. Default base 1 s, cap 60 s. */
  readonly retry: BackoffOptions;
  /** Age after which a message still queued fails instead of being sent, in ms. Default 7 days. */
  readonly maxAgeMs: number;
}

export const DEFAULT_OUTBOX_OPTIONS: Readonly<OutboxOptions> = {
  window: 32,
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
  /** Deletes entries locally (failed ones the user discards). Those in flight cannot be removed. */
  discard(ids: readonly string[]): Promise<void>;
  /** The connection opened for `user`: send what is queued for them. */
  opened(user: string): void;
  /** The connection went away: the messages in flight are sent again on the next open. */
  closed(): void;
  receive(frame: AckFrame): void;
  /** Calls back after every committed change; returns the unsubscribe function. */
  watch(listener: (change: OutboxChange) => void): () => void;
  /** Resolves once the store was read and every write so far committed. */
  idle(): Promise<void>;
  /** Stops sending and cancels timers; writes already started still commit. */
  close(): void;
}

/** Longest pace a rate limit may impose between two messages, in ms. */
const MAX_PACE_MS = 60_000;

export function createOutbox(deps: OutboxDeps): Outbox {
  const { clock, log } = deps;
  const options: OutboxOptions = { ...DEFAULT_OUTBOX_OPTIONS, ...deps.options };
  /** The user of the open connection, `null` while not open. */
  let openFor: string | null = null;
  let stopped = false;
  const mirror = createOutboxMirror({ store: deps.store, log, onLoaded: () => pump() });
  const window = createSendWindow({
    clock,
    size: Math.max(1, Math.floor(options.window)),
    ackTimeoutMs: options.ackTimeoutMs,
    onTimeout: (ids) => retry(ids, 'no ack in time', null),
    onReady: () => pump(),
  });
  const settlements = createSettlements({
    mirror,
    log,
    recorded: () => pump(),
    notRecorded: (failures) => {
      scan.reset();
      if (!stopped) window.hold(null, backoffDelay(failures - 1, options.retry, deps.random));
    },
  });

  const isFor = (entry: OutboxEntry, user: string): boolean => entry.user === null || entry.user === user;
  const scan = createQueueScan((entry) => entry.state !== 'queued' || settlements.has(entry.id) || window.has(entry.id));

  /** Sends queued messages, oldest first, while the window has room and the next may go. */
  function pump(): void {
    if (stopped || !mirror.isLoaded() || openFor === null) return;
    const user = openFor;
    const now = clock.now();
    const flying = window.ids().flatMap((id) => mirror.get(id) ?? []);
    const expired: OutboxEntry[] = [];
    let drained = true;
    for (const entry of scan.open(mirror.entries())) {
      if (now - entry.createdAt > options.maxAgeMs) {
        expired.push({ ...entry, state: 'failed', reason: EXPIRED_REASON });
        continue;
      }
      if (!isFor(entry, user)) continue;
      drained = false;
      if (window.room() === 0 || flying.some((earlier) => mustFollow(entry, earlier))) break;
      // A refused send means the socket is going away; the close that follows re-sends on the next open.
      if (!deps.send({ t: 'send', id: entry.id, kind: entry.kind, body: entry.body })) break;
      window.sent(entry.id);
      flying.push(entry);
    }
    if (expired.length > 0) settlements.settle(expired, []);
    // The queue drained: a rate limit met on the way no longer holds the window to one.
    if (drained && flying.length === 0) window.unpace();
  }

  /**
   * These messages (oldest first) went unanswered or were refused for now: hold the queue for
   * `delayMs` (backoff from the oldest's tries when `null`), then send them again in order.
   */
  function retry(ids: readonly string[], reason: string, delayMs: number | null): void {
    if (stopped) return;
    scan.reset();
    const entries = ids.flatMap((id) => mirror.get(id) ?? []);
    const oldest = entries[0];
    if (!oldest) return;
    const counted = entries.map((entry) => ({ ...entry, attempts: entry.attempts + 1 }));
    for (const entry of counted) mirror.counted(entry);
    const delay = delayMs ?? backoffDelay(counted[0]!.attempts - 1, options.retry, deps.random);
    log.info('client messages are sent again later', { ids: ids.length, first: oldest.id, reason, attempts: counted[0]!.attempts, delayMs: delay });
    window.hold(oldest.id, delay);
    // Only informative: losing this write costs nothing but a shorter first delay after a restart.
    void mirror.write((store) => store.update(counted)).catch((error: unknown) => log.warn('could not store a retry count', { error: String(error) }));
  }

  function receive(frame: AckFrame): void {
    if (stopped) return;
    const entry = mirror.get(frame.id);
    if (!entry || entry.state !== 'queued') {
      return log.warn('ignored an ack for no queued message', { id: frame.id, known: entry !== undefined });
    }
    if (settlements.has(entry.id)) return log.warn('ignored a repeated ack', { id: frame.id });
    // Whether or not it is in flight (its ack may come late: after a timeout, or from the
    // connection before this one), the server answered this id.
    if (frame.ok || frame.error.code === 'invalid') {
      window.answered(entry.id);
      settlements.settle(frame.ok ? [] : [{ ...entry, state: 'failed', reason: frame.error.message }], frame.ok ? [entry.id] : []);
      return pump();
    }
    if (!window.answered(entry.id)) {
      return log.warn('ignored a transient refusal of a message not in flight', { id: frame.id, code: frame.error.code });
    }
    const { code, retryAfterMs } = frame.error;
    if (code === 'rate-limited' && retryAfterMs !== undefined) {
      const wait = Math.min(MAX_PACE_MS, Math.max(1, retryAfterMs));
      window.pace(wait);
      return retry([entry.id], `${code}: ${frame.error.message}`, wait);
    }
    retry([entry.id], `${code}: ${frame.error.message}`, null);
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
      const gone = new Set(ids.filter((id) => !window.has(id) && window.heldFor() !== id));
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
      // What was in flight may or may not have reached the server: it is sent again on the next
      // open, with the same ids, and the server answers the same acks for what it applied.
      window.clear();
      window.unpace();
      scan.reset();
    },
    receive,
    watch: (listener) => mirror.watch(listener),
    async idle() {
      await mirror.idle();
      await settlements.idle();
      await mirror.idle();
    },
    close() {
      stopped = true;
      openFor = null;
      window.close();
    },
  };
}
