/**
 * Publish → DOM latency in ten extension popup tabs (one hub in the service worker, updates over
 * `runtime.Port`), beside the same UI in ten pages that each open their own socket: the dashboard's
 * bundle with `SharedWorker` taken away, so each page runs its own hub in a dedicated Worker with its
 * own WebSocket (the same Preact panels, frame batching and rendering; no extension messaging, no
 * sharing). A third row is the popups again with the manifest's `message_serialization` key removed,
 * i.e. Chrome's JSON messaging, to show what structured clone changes.
 *
 * All under the same load: the server's simulator at 200 ticks/s over 20 symbols, 20 notifications
 * in the feed. Probe ticks on a symbol of their own are published through the admin API every
 * PROBE_GAP_MS; each tab notes when each probe's price appears in its DOM (MutationObserver), see
 * `./browser/latency-probe.ts`. Whole-browser CPU over the probe window is shown beside it. Headless
 * Chromium reports every tab visible, so all ten render. Rounds interleaved, each on a fresh
 * browser; percentiles over every (tab, probe) of all rounds.
 *
 * `node --import tsx bench/popup-latency.ts` runs it alone; `BENCH_ROUNDS` (default 2) and
 * `BENCH_PROBES` (default 25) size it.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROME_EXTENSION_DIR, launchChromiumWithExtension } from '../test/support/chromium';
import { OptionsPage } from '../test/support/pages/options';
import { PopupPage } from '../test/support/pages/popup';
import { spawnServerProcess, type ServerProcess } from '../test/support/server';
import { envInt, progress, runAlone } from './browser/alone';
import { sleep } from './pacing';
import { median, percentile, ratio } from './stats';
import { openDashboardTabs, waitForConnected, waitForPriceRows } from './browser/dashboard-tabs';
import { installProbes, runProbes } from './browser/latency-probe';
import { browserCpuWindow, loadAverage } from './browser/profile-cpu';
import type { Row } from './table';

export const POPUP_LATENCY_TITLE =
  'Publish → DOM latency, 10 tabs at 200 ticks/s over 20 symbols: extension popups (one hub) vs pages with their own socket';

const TABS = 10;
const SYMBOLS = 20;
const PROBE_GAP_MS = 400;
const SETTLE_MS = 1_500;
const USER = 'bench';

interface Side {
  readonly name: string;
  /** Opens the ten tabs, ready; returns them, the profile to measure and how to close. */
  open(server: ServerProcess, token: string): Promise<{ pages: readonly Page[]; profileDir: string; close(): Promise<void> }>;
}

/** The built extension, or a copy of it whose manifest lacks `message_serialization` (Chrome then uses JSON). */
function extensionSide(name: string, json: boolean): Side {
  return {
    name,
    async open(server, token) {
      let extensionDir = CHROME_EXTENSION_DIR;
      if (json) {
        extensionDir = mkdtempSync(join(tmpdir(), 'switchboard-ext-json-'));
        cpSync(CHROME_EXTENSION_DIR, extensionDir, { recursive: true });
        const manifest = JSON.parse(readFileSync(join(extensionDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
        delete manifest.message_serialization;
        writeFileSync(join(extensionDir, 'manifest.json'), JSON.stringify(manifest));
      }
      const profileDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-ext-'));
      const browser = await launchChromiumWithExtension({ extensionDir, userDataDir: profileDir });
      const close = async (): Promise<void> => {
        await browser.close();
        rmSync(profileDir, { recursive: true, force: true });
        if (json) rmSync(extensionDir, { recursive: true, force: true });
      };
      try {
        const options = await OptionsPage.open(browser);
        await options.save({ serverUrl: server.url, token });
        await options.waitForStatus('Connected');
        await options.page.close();
        const pages: Page[] = [];
        for (let i = 0; i < TABS; i += 1) pages.push((await PopupPage.open(browser)).page);
        for (const page of pages) {
          await waitForConnected(page);
          await waitForPriceRows(page, SYMBOLS);
        }
        return { pages, profileDir, close };
      } catch (error) {
        await close();
        throw error;
      }
    },
  };
}

const SIDES: readonly Side[] = [
  extensionSide('Switchboard: popup tabs, one hub (structured clone)', false),
  {
    name: 'peer: pages with their own socket (dashboard bundle, no SharedWorker)',
    async open(server, token) {
      const tabs = await openDashboardTabs({ url: `${server.url}/`, token, tabs: TABS, sharedWorker: false, priceRows: SYMBOLS });
      return { pages: tabs.pages, profileDir: tabs.profileDir, close: () => tabs.close() };
    },
  },
  extensionSide('Switchboard: popup tabs, one hub (JSON messages)', true),
];

interface Sample {
  readonly latencies: number[];
  readonly missed: number;
  readonly cpu: number;
  readonly seconds: number;
  readonly load: number;
}

export async function popupLatencyRows(): Promise<Row[]> {
  const rounds = envInt('BENCH_ROUNDS', 2);
  const probes = envInt('BENCH_PROBES', 25);
  const server = await spawnServerProcess({ env: { SIMULATOR: 'on', SIMULATOR_RATE: '200' } });
  const samples = new Map<string, Sample[]>(SIDES.map((side) => [side.name, []]));
  try {
    const token = await server.mintToken(USER);
    for (let i = 1; i <= 20; i += 1) await server.publishNotification(USER, { title: `Notice ${i}`, body: `Body of notice ${i}` });
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
      for (const side of order) {
        progress(`popup latency: round ${round + 1}/${rounds}: ${side.name}`);
        const opened = await side.open(server, token);
        try {
          await installProbes(opened.pages);
          await sleep(SETTLE_MS);
          const started = performance.now();
          const cpu = browserCpuWindow(opened.profileDir);
          const result = await runProbes(server, opened.pages, probes, PROBE_GAP_MS);
          const sample = { ...result, cpu: cpu.stop(), seconds: (performance.now() - started) / 1000, load: loadAverage() };
          samples.get(side.name)!.push(sample);
          progress(`popup latency: p50 ${percentile(sample.latencies, 50).toFixed(0)} ms, p99 ${percentile(sample.latencies, 99).toFixed(0)} ms (load ${sample.load})`);
        } finally {
          await opened.close();
        }
      }
    }
  } finally {
    await server.dispose();
  }
  const peer = samples.get(SIDES[1]!.name)!.flatMap((s) => s.latencies);
  const peerCpu = median(samples.get(SIDES[1]!.name)!.map((s) => s.cpu / s.seconds));
  return SIDES.map((side) => {
    const list = samples.get(side.name)!;
    const all = list.flatMap((s) => s.latencies);
    const cores = median(list.map((s) => s.cpu / s.seconds));
    return {
      system: side.name,
      'p50 ms': Math.round(percentile(all, 50)),
      'p99 ms': Math.round(percentile(all, 99)),
      'p50 / p99 vs peer': `${ratio(percentile(all, 50), percentile(peer, 50))} / ${ratio(percentile(all, 99), percentile(peer, 99))}`,
      'not shown': `${list.reduce((sum, s) => sum + s.missed, 0)} of ${list.reduce((sum, s) => sum + s.missed + s.latencies.length, 0)}`,
      'browser cores busy': cores.toFixed(2),
      'CPU vs peer': ratio(cores, peerCpu),
      'load avg': median(list.map((s) => s.load)).toFixed(2),
    };
  });
}

await runAlone(import.meta.url, POPUP_LATENCY_TITLE, popupLatencyRows);
