/**
 * One stream topic's work, processed strictly in arrival order: subscribing, the server's answers
 * and events. A frame that arrives while a write is in flight waits its turn, and the events that
 * queued up meanwhile are handed on together, so they are written in one transaction.
 */
import type { EventFrame, FrameOf, ServerFrame } from '../../../lib/wire/protocol';

/** Work as it is queued. */
export type StreamWork =
  | { readonly k: 'subscribe'; readonly generation: number; readonly withoutCursor: boolean }
  | { readonly k: 'subscribed'; readonly frame: FrameOf<ServerFrame, 'subscribed'> }
  | { readonly k: 'unsubscribed'; readonly frame: FrameOf<ServerFrame, 'unsubscribed'> }
  | { readonly k: 'refused'; readonly frame: FrameOf<ServerFrame, 'error'> }
  | { readonly k: 'event'; readonly frame: EventFrame };

/** Work as it is handled: an event together with every event queued right behind it. */
export type StreamStep = Exclude<StreamWork, { readonly k: 'event' }> | { readonly k: 'events'; readonly frames: readonly EventFrame[] };

export interface StreamQueue {
  /** Queues work behind everything queued before it; ignored once stopped. */
  push(work: StreamWork): void;
  /** The run in progress, `null` once the queue is empty. */
  readonly running: Promise<void> | null;
  /** Drops what is queued and takes nothing more; the step in progress finishes. */
  stop(): void;
}

/** `handle` takes one step at a time and must not reject (it handles its own failures). */
export function createStreamQueue(handle: (step: StreamStep) => Promise<void>): StreamQueue {
  const queue: StreamWork[] = [];
  let running: Promise<void> | null = null;
  let stopped = false;

  function take(): StreamStep {
    const first = queue[0]!;
    if (first.k !== 'event') {
      queue.shift();
      return first;
    }
    // One splice for the whole run: a replay queues thousands of events, and shifting them off one
    // by one copied the rest of the queue each time.
    let end = 1;
    while (queue[end]?.k === 'event') end++;
    const frames = queue.splice(0, end).map((work) => (work as Extract<StreamWork, { k: 'event' }>).frame);
    return { k: 'events', frames };
  }

  async function run(): Promise<void> {
    // Start after the caller's turn, so `running` is set before the loop can end.
    await null;
    while (queue.length > 0 && !stopped) await handle(take());
    // Synchronous with the last look at the queue: nothing can slip in between.
    running = null;
  }

  return {
    push(work) {
      if (stopped) return;
      queue.push(work);
      running ??= run();
    },
    get running() {
      return running;
    },
    stop() {
      stopped = true;
      queue.length = 0;
    },
  };
}
