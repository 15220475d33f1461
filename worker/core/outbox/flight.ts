/**
 * What the head of the outbox is doing, with the one timer each state owns: nothing; sent and
 * waiting for its ack until the timer fires; or waiting to be sent again. Every change goes
 * through here and cancels the old timer, so no timer fires for a flight that is over.
 */
import type { Clock, TimerHandle } from '../platform';

export type Flight =
  | { readonly s: 'idle' }
  /** Sent, waiting for its ack until the timer fires. */
  | { readonly s: 'sent'; readonly id: string; readonly timer: TimerHandle }
  /** Waiting to send again after a timeout, a transient refusal (`id`) or a failed write (`null`). */
  | { readonly s: 'waiting'; readonly id: string | null; readonly timer: TimerHandle };

export interface HeadFlight {
  readonly state: Flight;
  /** `id` was sent: `timeout` runs unless its ack (or anything else) ends the flight within `ms`. */
  sent(id: string, ms: number, timeout: () => void): void;
  /** Waits `ms` (for the message `id`, if any), then lands and runs `then`, unless the flight changed first. */
  wait(id: string | null, ms: number, then: () => void): void;
  /** Back to idle; the timer is cancelled. */
  land(): void;
}

export function createHeadFlight(clock: Clock): HeadFlight {
  let flight: Flight = { s: 'idle' };

  function set(next: Flight): void {
    if (flight.s === 'sent' || flight.s === 'waiting') clock.clearTimeout(flight.timer);
    flight = next;
  }

  return {
    get state() {
      return flight;
    },
    sent(id, ms, timeout) {
      set({ s: 'sent', id, timer: clock.setTimeout(timeout, ms) });
    },
    wait(id, ms, then) {
      const timer = clock.setTimeout(() => {
        if (flight.s !== 'waiting' || flight.timer !== timer) return;
        flight = { s: 'idle' };
        then();
      }, ms);
      set({ s: 'waiting', id, timer });
    },
    land() {
      set({ s: 'idle' });
    },
  };
}
