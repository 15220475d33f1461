/**
 * The outbox's send window on one connection: which messages are in flight (sent, not answered),
 * how many more may go out now, and the timers that say when: the ack timer (no answer at all for
 * `ackTimeoutMs` while something is in flight), the hold after a refusal or a timeout (nothing is
 * sent until it ends), and the pace the server's rate limit asked for (one message at a time, a gap
 * apart). Each timer is cancelled when what it waits for is over, so none fires for a state that is
 * gone.
 */
import type { Clock, TimerHandle } from '../platform';

export interface SendWindowDeps {
  readonly clock: Clock;
  /** Most messages in flight at once. */
  readonly size: number;
  /** How long the server may go without answering anything in flight. */
  readonly ackTimeoutMs: number;
  /** Nothing in flight was answered in time; the window is already empty. `ids` oldest first. */
  onTimeout(ids: readonly string[]): void;
  /** A hold or a paced gap ended: more may be sent. */
  onReady(): void;
}

export interface SendWindow {
  /** Ids in flight, oldest first. */
  ids(): readonly string[];
  has(id: string): boolean;
  /** How many more may be sent now: none while held, full, or inside a paced gap (`onReady` follows). */
  room(): number;
  sent(id: string): void;
  /** `id` was answered; returns whether it was in flight. A hold kept for `id` ends with it. */
  answered(id: string): boolean;
  /** Forgets every message in flight (the connection went away). */
  clear(): void;
  /**
   * Sends nothing for `ms` (for message `id`, if any), then `onReady`; a hold already running lasts
   * until the later of the two ends. An answer for the held `id` ends it at once.
   */
  hold(id: string | null, ms: number): void;
  /** The message a hold is kept for (`null`: for none in particular), `undefined` when not held. */
  heldFor(): string | null | undefined;
  /** The server's rate limit refused a message: from now on one in flight at a time, `gapMs` apart. */
  pace(gapMs: number): void;
  /** Back to the whole window (the queue drained, or a new connection). */
  unpace(): void;
  /** Cancels every timer; the window sends nothing more. */
  close(): void;
}

export function createSendWindow(deps: SendWindowDeps): SendWindow {
  const { clock } = deps;
  const flying: string[] = [];
  const flyingIds = new Set<string>();
  let ackTimer: TimerHandle | null = null;
  let held: { readonly id: string | null; readonly until: number; readonly timer: TimerHandle } | null = null;
  let paced: { readonly gapMs: number; lastSentAt: number; timer: TimerHandle | null } | null = null;

  /** When the server last answered (or the window last went from empty to busy). */
  let progressAt = 0;

  /**
   * Keeps the ack timer running while something is in flight. An answer only moves `progressAt`
   * (a window of acks would otherwise cost a timer each); the timer looks at it when it fires.
   */
  function armAckTimer(): void {
    if (flying.length === 0) {
      if (ackTimer !== null) clock.clearTimeout(ackTimer);
      ackTimer = null;
      return;
    }
    if (ackTimer !== null) return;
    const wait = Math.max(0, progressAt + deps.ackTimeoutMs - clock.now());
    ackTimer = clock.setTimeout(() => {
      ackTimer = null;
      if (clock.now() - progressAt < deps.ackTimeoutMs) return armAckTimer();
      flyingIds.clear();
      deps.onTimeout(flying.splice(0));
    }, wait);
  }

  function clear(): void {
    flying.length = 0;
    flyingIds.clear();
    armAckTimer();
  }

  function release(): void {
    if (held) clock.clearTimeout(held.timer);
    held = null;
  }

  function unpace(): void {
    if (paced?.timer != null) clock.clearTimeout(paced.timer);
    paced = null;
  }

  return {
    ids: () => flying,
    has: (id) => flyingIds.has(id),
    room() {
      if (held) return 0;
      if (!paced) return Math.max(0, deps.size - flying.length);
      if (flying.length > 0) return 0;
      const wait = paced.lastSentAt + paced.gapMs - clock.now();
      if (wait <= 0) return 1;
      if (paced.timer === null) {
        const pace = paced;
        pace.timer = clock.setTimeout(() => {
          pace.timer = null;
          deps.onReady();
        }, wait);
      }
      return 0;
    },
    sent(id) {
      flying.push(id);
      flyingIds.add(id);
      if (paced) paced.lastSentAt = clock.now();
      if (flying.length === 1) {
        progressAt = clock.now();
        armAckTimer();
      }
    },
    answered(id) {
      if (held?.id === id) release();
      if (!flyingIds.delete(id)) return false;
      flying.splice(flying.indexOf(id), 1);
      // The server is answering: the next answer gets the whole timeout again.
      progressAt = clock.now();
      armAckTimer();
      return true;
    },
    clear,
    hold(id, ms) {
      const until = clock.now() + ms;
      if (held && held.until >= until) return;
      release();
      const timer = clock.setTimeout(() => {
        if (held?.timer !== timer) return;
        held = null;
        deps.onReady();
      }, ms);
      held = { id, until, timer };
    },
    heldFor: () => held?.id,
    pace(gapMs) {
      if (paced && paced.gapMs >= gapMs) return;
      const lastSentAt = paced?.lastSentAt ?? clock.now();
      unpace();
      paced = { gapMs, lastSentAt, timer: null };
    },
    unpace,
    close() {
      clear();
      release();
      unpace();
    },
  };
}
