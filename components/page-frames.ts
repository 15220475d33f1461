/**
 * What a page gives its hub client and views: frames and visibility. A frame is the next
 * `requestAnimationFrame`, with a timer behind it: a hidden page gets no animation frames, and a
 * batch that was on its way when the page was hidden must still be taken, or the hub would wait for
 * that view forever. Visibility is the Page Visibility API's: a background tab, a minimised window.
 */

/** A hidden page's frame comes from this timer instead (browsers slow hidden pages' timers to ~1/s). */
const HIDDEN_FRAME_FALLBACK_MS = 200;

/**
 * A shown page waits this long for its animation frame before the timer applies the updates anyway.
 * A busy browser drops frames; updates applied between the frames it does draw would never be
 * seen, only overwritten (the hub conflates meanwhile), so a shown page waits for the real frame,
 * and the timer is only there in case frames stop altogether.
 */
const SHOWN_FRAME_FALLBACK_MS = 1_000;

/**
 * The least time between two frames of updates in a view, in ms. Every frame a tab renders costs
 * its renderer, compositor and GPU process a fixed amount whatever changed, so a view that shows a
 * busy market renders it at most this often; a quiet stream's update still shows on the next frame.
 */
export const MIN_FRAME_INTERVAL_MS = 200;

/**
 * How long before a spaced frame the hub hears the batches waiting for it were taken, and sends what
 * it gathered since: that arrives in time for the frame, which then shows data about this old at
 * most (a view takes at most two messages per frame).
 */
export const ACK_BEFORE_FRAME_MS = 50;

/**
 * Calls `callback` once, on the page's next animation frame or after a timer (`HIDDEN_FRAME_FALLBACK_MS`
 * when the page is hidden, `SHOWN_FRAME_FALLBACK_MS` when it is shown), whichever comes first.
 */
export function requestPageFrame(callback: () => void): void {
  let done = false;
  const run = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    cancelAnimationFrame(frame);
    callback();
  };
  const frame = requestAnimationFrame(run);
  const timer = setTimeout(run, document.visibilityState === 'visible' ? SHOWN_FRAME_FALLBACK_MS : HIDDEN_FRAME_FALLBACK_MS);
}

/** Reports whether the page is visible: now, and on every change. Returns the function that stops. */
export function watchPageVisibility(report: (visible: boolean) => void): () => void {
  const check = (): void => report(document.visibilityState === 'visible');
  document.addEventListener('visibilitychange', check);
  check();
  return () => document.removeEventListener('visibilitychange', check);
}

/** The page a view lives in, as `useHubViews` uses it; tests hand in their own. */
export interface ViewPage {
  readonly requestFrame: (callback: () => void) => void;
  readonly minFrameIntervalMs: number;
  readonly ackBeforeFrameMs: number;
  readonly watchVisibility: (report: (visible: boolean) => void) => () => void;
}

export const BROWSER_PAGE: ViewPage = {
  requestFrame: requestPageFrame,
  minFrameIntervalMs: MIN_FRAME_INTERVAL_MS,
  ackBeforeFrameMs: ACK_BEFORE_FRAME_MS,
  watchVisibility: watchPageVisibility,
};
