/**
 * Publish → DOM latency in real tabs. Each tab watches its `Prices` list with a MutationObserver and
 * notes, for every price text the probe symbol's row shows, when it first appeared
 * (`performance.timeOrigin + performance.now()`, the same clock Node reads here). The bench
 * publishes probe ticks through the admin API, each with its own price, noting when it sent each;
 * latency is seen − sent, per tab and tick. A tick a tab never showed (a newer one replaced it
 * first) is counted as missed, not as a latency.
 */
import type { Page } from 'playwright-core';
import type { ServerHttp } from '../../test/support/server';
import { sleep } from '../pacing';

export const PROBE_SYMBOL = 'PROBE';
/** Probe `i` publishes this price; its row then reads `formatPrice` of it, e.g. `512.00`. */
const probePrice = (i: number): number => 500 + i;
const probeText = (i: number): string => probePrice(i).toFixed(2);

/** Milliseconds since the epoch, to the microsecond, on the clock the pages read. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

// A string, not a function: the page runs it as written (tsx would add helpers the page lacks).
const INSTALL = (symbol: string): string => `(() => {
  const seen = {};
  const read = () => {
    const text = document.querySelector('ul[aria-label="Prices"] > li[data-symbol="${symbol}"] .value')?.textContent;
    if (text && !(text in seen)) seen[text] = performance.timeOrigin + performance.now();
  };
  new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
  globalThis.__probeSeen = seen;
})()`;

/** Starts watching the probe row in every page. */
export async function installProbes(pages: readonly Page[]): Promise<void> {
  for (const page of pages) await page.evaluate(INSTALL(PROBE_SYMBOL));
}

export interface ProbeResult {
  /** Every (tab, tick) latency in ms. */
  readonly latencies: number[];
  /** (tab, tick) pairs never shown. */
  readonly missed: number;
}

/** Publishes `count` probe ticks `gapMs` apart and collects what every page showed. */
export async function runProbes(server: ServerHttp, pages: readonly Page[], count: number, gapMs: number): Promise<ProbeResult> {
  const sent: number[] = [];
  for (let i = 0; i < count; i += 1) {
    sent.push(preciseNow());
    await server.publishPrice(PROBE_SYMBOL, probePrice(i));
    await sleep(gapMs);
  }
  const last = probeText(count - 1);
  // Every tab shows the last tick (nothing replaces it), or gives up after 10 s.
  await Promise.all(
    pages.map((page) =>
      page
        .waitForFunction(`globalThis.__probeSeen && ${JSON.stringify(last)} in globalThis.__probeSeen`, undefined, { timeout: 10_000 })
        .catch(() => undefined),
    ),
  );
  const latencies: number[] = [];
  let missed = 0;
  for (const page of pages) {
    const seen = (await page.evaluate('globalThis.__probeSeen')) as Record<string, number>;
    sent.forEach((at, i) => {
      const shown = seen[probeText(i)];
      if (shown === undefined) missed += 1;
      else latencies.push(shown - at);
    });
  }
  return { latencies, missed };
}
