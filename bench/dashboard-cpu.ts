/**
 * Whole-browser CPU of ten dashboard tabs at 200 ticks/s over 20 symbols: the one SharedWorker hub
 * (one socket for every tab) beside the same ten tabs with `SharedWorker` taken away, where each tab
 * runs its own hub and socket in a dedicated Worker. Same bundle, same UI, same server process (the
 * price simulator at 200 ticks/s, and 20 notifications in the feed so the feed list is not empty),
 * same Chromium flags, a fresh profile per run; rounds interleaved (ABBA), medians reported.
 *
 * CPU is summed over every process of the browser's profile from `/proc` (renderers, GPU, network
 * service, the worker hosts) over a window after the tabs have settled. The server's CPU over the
 * same window is shown beside it: the per-tab side makes it serve ten sockets instead of one.
 * Two scenarios in each browser, one window after the other. All shown: headless Chromium reports
 * every tab visible, so all ten tabs render everything they get (the target is for this one). One
 * in front: then the nine tabs behind the last one opened are sent to the background through the
 * Page Visibility API (emulated, see `./browser/page-visibility`), as when ten tabs share a window:
 * on both sides a hidden view pauses its session and renders nothing, and what remains is one tab's
 * rendering plus the hubs: one on Switchboard's side, ten hubs and sockets on the peer's.
 *
 * `node --import tsx bench/dashboard-cpu.ts` runs it alone; `BENCH_WINDOW_MS` (default 10 000) and
 * `BENCH_ROUNDS` (default 2) size it.
 */
import { spawnServerProcess } from '../test/support/server';
import { CONNECTIONS } from '../test/support/publish';
import { envInt, progress, runAlone } from './browser/alone';
import { sleep } from './pacing';
import { median, ratio } from './stats';
import { openDashboardTabs, type DashboardTabs } from './browser/dashboard-tabs';
import { setPageHidden } from './browser/page-visibility';
import { browserCpuWindow, loadAverage, startCpuWindow } from './browser/profile-cpu';
import type { Row } from './table';

export const DASHBOARD_CPU_TITLE =
  'Browser CPU, 10 dashboard tabs at 200 ticks/s over 20 symbols, summed over a 10 s window, all shown and then one in front: one SharedWorker hub vs a hub and socket per tab (SharedWorker unavailable)';

const TABS = 10;
const TICKS_PER_SECOND = 200;
/** The simulator's default symbols. */
const SYMBOLS = 20;
const NOTIFICATIONS = 20;
const SETTLE_MS = 2_000;
const USER = 'bench';

type Mode = 'shared' | 'per-tab';
type Scenario = 'all shown' | 'one in front';
const SCENARIOS: readonly Scenario[] = ['all shown', 'one in front'];

interface Sample {
  readonly browserCpu: number;
  readonly serverCpu: number;
  readonly connections: number;
  readonly load: number;
}

/** One measured window: the browser's and the server's CPU over `windowMs`. */
async function measure(tabs: DashboardTabs, server: Awaited<ReturnType<typeof spawnServerProcess>>, windowMs: number): Promise<Sample> {
  await sleep(SETTLE_MS);
  const browser = browserCpuWindow(tabs.profileDir);
  const serverCpu = startCpuWindow(() => [server.pid() ?? -1]);
  await sleep(windowMs);
  return {
    browserCpu: browser.stop(),
    serverCpu: serverCpu.stop(),
    connections: await server.metric(CONNECTIONS),
    load: loadAverage(),
  };
}

export async function dashboardCpuRows(): Promise<Row[]> {
  const windowMs = envInt('BENCH_WINDOW_MS', 10_000);
  const rounds = envInt('BENCH_ROUNDS', 2);
  const server = await spawnServerProcess({ env: { SIMULATOR: 'on', SIMULATOR_RATE: String(TICKS_PER_SECOND) } });
  const samples = new Map<string, Sample[]>();
  const keyOf = (scenario: Scenario, mode: Mode): string => `${scenario}/${mode}`;
  try {
    const token = await server.mintToken(USER);
    for (let i = 1; i <= NOTIFICATIONS; i += 1) {
      await server.publishNotification(USER, { title: `Notice ${i}`, body: `Body of notice ${i}` });
    }
    for (let round = 0; round < rounds; round += 1) {
      const order: Mode[] = round % 2 === 0 ? ['shared', 'per-tab'] : ['per-tab', 'shared'];
      for (const mode of order) {
        progress(`dashboard CPU: round ${round + 1}/${rounds}, ${mode}: opening ${TABS} tabs`);
        const tabs = await openDashboardTabs({
          url: `${server.url}/`,
          token,
          tabs: TABS,
          sharedWorker: mode === 'shared',
          priceRows: SYMBOLS,
          emulateVisibility: true,
        });
        try {
          for (const scenario of SCENARIOS) {
            if (scenario === 'one in front') {
              // The last tab opened is the one in front; the others go to the background.
              for (const page of tabs.pages.slice(0, -1)) await setPageHidden(page, true);
            }
            const sample = await measure(tabs, server, windowMs);
            const key = keyOf(scenario, mode);
            samples.set(key, [...(samples.get(key) ?? []), sample]);
            progress(`dashboard CPU: ${mode}, ${scenario}: browser ${sample.browserCpu.toFixed(2)} CPU-s in ${windowMs / 1000} s (load ${sample.load})`);
          }
        } finally {
          await tabs.close();
        }
      }
    }
  } finally {
    await server.dispose();
  }
  const row = (scenario: Scenario, mode: Mode, system: string): Row => {
    const list = samples.get(keyOf(scenario, mode)) ?? [];
    const browserCpu = median(list.map((s) => s.browserCpu));
    const perTab = median((samples.get(keyOf(scenario, 'per-tab')) ?? []).map((s) => s.browserCpu));
    return {
      system,
      tabs: scenario === 'all shown' ? `${TABS} shown` : `1 shown, ${TABS - 1} hidden`,
      'server sockets': median(list.map((s) => s.connections)),
      'browser CPU-s in the window': Number(browserCpu.toFixed(2)),
      'browser cores busy': Number((browserCpu / (windowMs / 1000)).toFixed(2)),
      'server CPU-s': Number(median(list.map((s) => s.serverCpu)).toFixed(2)),
      'vs per-tab hubs': ratio(browserCpu, perTab),
      'load avg': median(list.map((s) => s.load)).toFixed(2),
    };
  };
  return SCENARIOS.flatMap((scenario) => [
    row(scenario, 'shared', 'Switchboard: one SharedWorker hub'),
    row(scenario, 'per-tab', 'a hub and socket per tab (dedicated Worker)'),
  ]);
}

await runAlone(import.meta.url, DASHBOARD_CPU_TITLE, dashboardCpuRows);
