/**
 * A client's inbound frames, handled one at a time in arrival order, also across a handler that
 * waits (checking a token, applying a client message): frames behind it queue, so a `subscribe`
 * sent right behind `hello` is answered after the welcome. Frames are handled at once whenever
 * nothing is pending.
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

export interface FrameQueueDeps<T> {
  /** Returns a promise only when the frame's handler has work left; the next frame waits for it. */
  readonly handle: (frame: T) => void | Promise<void>;
  /** A handler threw or rejected; the frames behind it are still handled. */
  readonly onError: (error: unknown) => void;
  /** `MAX_QUEUED_FRAMES` are already waiting; the frame is not queued. */
  readonly onOverflow: () => void;
}

export function createFrameQueue<T>(deps: FrameQueueDeps<T>): FrameQueue<T> {
  const queued: T[] = [];
  let busy = false;

  /** Handles queued frames in order; stops at a handler that is still working and resumes when it is done. */
  function pump(): void {
    while (!busy && queued.length > 0) {
      const frame = queued.shift()!;
      let working: void | Promise<void>;
      try {
        working = deps.handle(frame);
      } catch (error) {
        deps.onError(error);
        continue;
      }
      if (working instanceof Promise) {
        busy = true;
        working.catch(deps.onError).finally(() => {
          busy = false;
          pump();
        });
      }
    }
  }

  return {
    push(frame) {
      if (queued.length >= MAX_QUEUED_FRAMES) return deps.onOverflow();
      queued.push(frame);
      pump();
    },
  };
}
