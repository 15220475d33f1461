/**
 * Update batches applied once per frame. A view hands each batch from the hub to `push`; the
 * batches that arrive before the next frame are applied together, in order, in one call of
 * `apply`, and `push` resolves only once that call ran. The hub waits for that answer before it
 * sends the view more, and conflates meanwhile (latest value per topic), so a view never takes more
 * than one batch per frame, however fast updates come.
 *
 * `minIntervalMs` spaces frames further under a continuous stream: a batch that comes after a quiet
 * spell is applied on the next frame, the ones that follow at most once per interval (a leading-edge
 * throttle). Holding the hub until such a frame would leave it sitting on everything that came in
 * the meantime, so the frame would show data an interval old: with `ackBeforeFrameMs` the batches
 * waiting for a spaced frame are answered that long before it, the hub sends what it gathered, and
 * that arrives in time for the frame. A view then takes at most two messages per frame on time.
 * A frame can come late: a busy browser drops frames. While a requested frame has not run, what
 * waits for it is answered once per `minIntervalMs`, so the hub keeps sending what is newer (it
 * waits in the queue) and the frame, when it comes, shows data about an interval old at most,
 * while the DOM is touched only by the frames the browser draws.
 * The frame itself comes from the host (`requestAnimationFrame` in a page, with a timer behind it for
 * a hidden one), so this module touches no browser global.
 */

export interface FrameBatcherOptions {
  /** Calls `callback` before the view's next paint. */
  readonly requestFrame: (callback: () => void) => void;
  /** Least time between the starts of two applied frames, in ms. Default 0: every frame. */
  readonly minIntervalMs?: number;
  /**
   * Answer the batches waiting for a frame spaced by `minIntervalMs` this many ms before it, so the
   * hub sends what came meanwhile in time for that frame. Default 0: when the frame ran.
   */
  readonly ackBeforeFrameMs?: number;
  /** Milliseconds on a monotonic clock. Default `performance.now`. */
  readonly now?: () => number;
}

export interface FrameBatcher<T> {
  /** Queues `items` for the next frame; resolves once they were applied (or `ackBeforeFrameMs` before), or on `close`. */
  push(items: readonly T[]): Promise<void>;
  /** Drops what waits (its `push` calls resolve) and applies nothing more. */
  close(): void;
}

export function createFrameBatcher<T>(apply: (items: readonly T[]) => void, options: FrameBatcherOptions): FrameBatcher<T> {
  const minIntervalMs = options.minIntervalMs ?? 0;
  const now = options.now ?? (() => performance.now());
  let queued: T[] = [];
  let waiters: Array<() => void> = [];
  let scheduled = false;
  let closed = false;
  let lastFrame = Number.NEGATIVE_INFINITY;
  /** Answers what waits while a requested frame is late (see the module's comment). */
  let lateTimer: ReturnType<typeof setTimeout> | undefined;

  function settle(done: ReadonlyArray<() => void>): void {
    for (const resolve of done) resolve();
  }

  function frame(): void {
    scheduled = false;
    clearTimeout(lateTimer);
    lateTimer = undefined;
    if (closed) return;
    const items = queued;
    const done = waiters;
    queued = [];
    waiters = [];
    lastFrame = now();
    try {
      apply(items);
    } finally {
      // Even when `apply` throws: the hub must hear the batch was taken, or it would never send more.
      settle(done);
    }
  }

  function late(): void {
    settle(waiters.splice(0));
    lateTimer = setTimeout(late, minIntervalMs);
  }

  function requestFrame(): void {
    if (closed) return;
    options.requestFrame(frame);
    if (minIntervalMs > 0 && scheduled) lateTimer = setTimeout(late, minIntervalMs);
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    const wait = lastFrame + minIntervalMs - now();
    if (wait <= 0) {
      requestFrame();
      return;
    }
    setTimeout(requestFrame, wait);
    const early = wait - (options.ackBeforeFrameMs ?? 0);
    if (early < wait) setTimeout(() => settle(waiters.splice(0)), Math.max(0, early));
  }

  return {
    push(items) {
      if (closed) return Promise.resolve();
      queued.push(...items);
      schedule();
      return new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      closed = true;
      clearTimeout(lateTimer);
      queued = [];
      settle(waiters.splice(0));
    },
  };
}
