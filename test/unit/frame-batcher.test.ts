/**
 * Update batches applied once per frame (`lib/rpc/frame-batcher.ts`): what arrives before a frame
 * is applied in one call, the hub's `updates()` call is answered only after that, and a continuous
 * stream is spaced by the least interval (nothing at d−1, the frame at d). Frames are handed out by
 * the test; timers are fake.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createFrameBatcher } from '../../lib/rpc/frame-batcher';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A page whose frames run when the test says. */
function frames() {
  const waiting: Array<() => void> = [];
  return {
    requestFrame: (callback: () => void) => void waiting.push(callback),
    pending: () => waiting.length,
    /** Runs the frame callbacks asked for so far. */
    run: () => {
      for (const callback of waiting.splice(0)) callback();
    },
  };
}

/** Whether `promise` has settled, after the promise jobs queued now have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('createFrameBatcher', () => {
  test('batches that arrive before a frame are applied together, in order, in one call', async () => {
    const page = frames();
    const applied: number[][] = [];
    const batcher = createFrameBatcher<number>((items) => void applied.push([...items]), { requestFrame: page.requestFrame });
    const first = batcher.push([1, 2]);
    const second = batcher.push([3]);
    expect(page.pending()).toBe(1);
    expect(applied).toEqual([]);
    page.run();
    expect(applied).toEqual([[1, 2, 3]]);
    expect(await settled(Promise.all([first, second]))).toBe(true);
  });

  test('push resolves only once its frame ran, so the hub holds what comes next until then', async () => {
    const page = frames();
    const batcher = createFrameBatcher<number>(() => {}, { requestFrame: page.requestFrame });
    const taken = batcher.push([1]);
    expect(await settled(taken)).toBe(false);
    page.run();
    expect(await settled(taken)).toBe(true);
  });

  test('a continuous stream gets a frame at most every minIntervalMs: nothing at d-1, the frame at d', async () => {
    const page = frames();
    const applied: number[][] = [];
    const batcher = createFrameBatcher<number>((items) => void applied.push([...items]), { requestFrame: page.requestFrame, minIntervalMs: 200 });
    void batcher.push([1]);
    // After a quiet spell the next frame takes it.
    expect(page.pending()).toBe(1);
    page.run();
    void batcher.push([2]);
    void batcher.push([3]);
    await vi.advanceTimersByTimeAsync(199);
    expect(page.pending()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(page.pending()).toBe(1);
    page.run();
    expect(applied).toEqual([[1], [2, 3]]);
  });

  test('with ackBeforeFrameMs the batches waiting for a spaced frame are answered that long before it (nothing at d-1), and applied at it', async () => {
    const page = frames();
    const applied: number[][] = [];
    const batcher = createFrameBatcher<number>((items) => void applied.push([...items]), {
      requestFrame: page.requestFrame,
      minIntervalMs: 200,
      ackBeforeFrameMs: 50,
    });
    void batcher.push([1]);
    page.run();
    const taken = batcher.push([2]);
    await vi.advanceTimersByTimeAsync(149);
    expect(await settled(taken)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(taken)).toBe(true);
    // What the hub sends then joins the same frame, and is answered when it ran.
    const next = batcher.push([3]);
    await vi.advanceTimersByTimeAsync(49);
    expect(page.pending()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(next)).toBe(false);
    page.run();
    expect(applied).toEqual([[1], [2, 3]]);
    expect(await settled(next)).toBe(true);
  });

  test('a late frame: what waits is answered once per minIntervalMs until it runs (nothing at d-1), and all of it is applied at the frame, in order', async () => {
    const page = frames();
    const applied: number[][] = [];
    const batcher = createFrameBatcher<number>((items) => void applied.push([...items]), { requestFrame: page.requestFrame, minIntervalMs: 200 });
    const first = batcher.push([1]);
    // The browser is busy: the frame asked for does not come.
    expect(page.pending()).toBe(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(await settled(first)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(first)).toBe(true);
    // So the hub sends what is newer, which waits for the same frame and is answered an interval later.
    const second = batcher.push([2]);
    await vi.advanceTimersByTimeAsync(199);
    expect(await settled(second)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(second)).toBe(true);
    const third = batcher.push([3]);
    expect(applied).toEqual([]);
    expect(page.pending()).toBe(1);
    page.run();
    expect(applied).toEqual([[1, 2, 3]]);
    expect(await settled(third)).toBe(true);
    // Once the frame ran, nothing more is answered early: the next batch waits for its own frame.
    const fourth = batcher.push([4]);
    await vi.advanceTimersByTimeAsync(200);
    expect(await settled(fourth)).toBe(false);
    expect(page.pending()).toBe(1);
  });

  test('a frame whose apply throws still answers the hub', async () => {
    const page = frames();
    const batcher = createFrameBatcher<number>(
      () => {
        throw new Error('render failed');
      },
      { requestFrame: page.requestFrame },
    );
    const taken = batcher.push([1]);
    expect(() => page.run()).toThrow('render failed');
    expect(await settled(taken)).toBe(true);
  });

  test('close() answers what waits and applies nothing more', async () => {
    const page = frames();
    const apply = vi.fn();
    const batcher = createFrameBatcher<number>(apply, { requestFrame: page.requestFrame });
    const taken = batcher.push([1]);
    batcher.close();
    expect(await settled(taken)).toBe(true);
    page.run();
    expect(await settled(batcher.push([2]))).toBe(true);
    expect(apply).not.toHaveBeenCalled();
  });
});
