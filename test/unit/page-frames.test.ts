// @vitest-environment happy-dom
/**
 * A page's frame (`components/page-frames.ts`): the next animation frame, with a timer behind it. A
 * shown page waits for its real frame (a busy browser that drops frames must not be made to apply
 * updates nobody sees), and the timer only takes over when frames stop; a hidden page, which gets
 * no animation frames, is run by the short timer, so a batch on its way is still taken. Animation
 * frames are handed out by the test; timers are fake.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { requestPageFrame } from '../../components/page-frames';

let frames: Array<FrameRequestCallback> = [];
let visibility: DocumentVisibilityState = 'visible';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  frames = [];
  visibility = 'visible';
  vi.stubGlobal('requestAnimationFrame', (callback: FrameRequestCallback) => frames.push(callback));
  vi.stubGlobal('cancelAnimationFrame', (handle: number) => {
    frames[handle - 1] = () => {};
  });
  vi.spyOn(document, 'visibilityState', 'get').mockImplementation(() => visibility);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const runFrames = (): void => {
  for (const callback of frames.splice(0)) callback(performance.now());
};

describe('requestPageFrame', () => {
  test('a shown page runs the callback on its animation frame, however late, and only once', () => {
    const callback = vi.fn();
    requestPageFrame(callback);
    vi.advanceTimersByTime(999);
    expect(callback).not.toHaveBeenCalled();
    runFrames();
    expect(callback).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  test('a shown page whose frames stopped is run by the timer after a second', () => {
    const callback = vi.fn();
    requestPageFrame(callback);
    vi.advanceTimersByTime(999);
    expect(callback).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(callback).toHaveBeenCalledTimes(1);
    runFrames();
    expect(callback).toHaveBeenCalledTimes(1);
  });

  test('a hidden page, which gets no animation frames, is run by the timer after 200 ms', () => {
    visibility = 'hidden';
    const callback = vi.fn();
    requestPageFrame(callback);
    vi.advanceTimersByTime(199);
    expect(callback).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(callback).toHaveBeenCalledTimes(1);
  });
});
