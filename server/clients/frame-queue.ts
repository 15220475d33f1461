/**
 * A client's inbound frames, handled one at a time in arrival order, also across a handler that
 * waits (checking a token, applying a client message): frames behind it queue, so a `subscribe`
 * sent right behind `hello` is answered after the welcome. Frames are handled at once whenever
 * nothing is pending. One per connection, so a class whose queue exists only while frames wait.
 */

/**
 * Frames waiting behind one whose handler is still working (a token check); a client that runs this
 * far ahead is flooding.
 */
export const MAX_QUEUED_FRAMES = 1024;

export interface FrameQueue<T> {
  /** Handles `frame` now, or after the frames ahead of it; `onOverflow` instead when the queue is full. */
  push(frame: T): void;
}

/** Called as methods, so a connection can be its own queue's handler. */
export interface FrameQueueDeps<T> {
  /** Returns a promise only when the frame's handler has work left; the next frame waits for it. */
  handle(frame: T): void | Promise<void>;
  /** A handler threw or rejected; the frames behind it are still handled. */
  onError(error: unknown): void;
  /** `MAX_QUEUED_FRAMES` are already waiting; the frame is not queued. */
  onOverflow(): void;
}

class OrderedFrames<T> implements FrameQueue<T> {
  private queued: T[] | undefined;
  private busy = false;

  constructor(private readonly deps: FrameQueueDeps<T>) {}

  push(frame: T): void {
    if (!this.busy && this.queued === undefined) return this.run(frame);
    const queued = (this.queued ??= []);
    if (queued.length >= MAX_QUEUED_FRAMES) return this.deps.onOverflow();
    queued.push(frame);
    this.pump();
  }

  /** Handles queued frames in order; stops at a handler that is still working and resumes when it is done. */
  private pump(): void {
    while (!this.busy && this.queued !== undefined) {
      const frame = this.queued.shift()!;
      if (this.queued.length === 0) this.queued = undefined;
      this.run(frame);
    }
  }

  private run(frame: T): void {
    let working: void | Promise<void>;
    try {
      working = this.deps.handle(frame);
    } catch (error) {
      this.deps.onError(error);
      return;
    }
    if (working instanceof Promise) {
      this.busy = true;
      working
        .catch((error: unknown) => this.deps.onError(error))
        .finally(() => {
          this.busy = false;
          this.pump();
        });
    }
  }
}

export function createFrameQueue<T>(deps: FrameQueueDeps<T>): FrameQueue<T> {
  return new OrderedFrames(deps);
}
