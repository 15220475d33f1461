/**
 * Research run (not part of `npm test` nor `npm run bench`): does an open streaming `fetch` or a
 * pending long poll keep a Chrome MV3 extension service worker alive the way WebSocket traffic
 * does, what happens past Chrome's 5-minute limits, and with a `chrome.alarms` alarm every 30 s
 * waking a stopped worker, how long is the gap a user sees? Findings: `docs/mv3-keepalive.md`.
 *
 * Every scenario runs in parallel, each a throwaway MV3 extension in its own Debian Chromium
 * (headless, own profile, no automation attached to the worker), against one local server; see
 * `test/support/mv3-keepalive.ts`. The bounded checks of the same behaviour are in
 * `test/e2e/mv3-keepalive.test.ts`.
 *
 * Run: `node_modules/.bin/node --import tsx bench/mv3-keepalive.ts`. Env: KEEPALIVE_SECONDS
 * (default 420), KEEPALIVE_SCENARIOS (comma-separated names, default all), KEEPALIVE_VERBOSE=1
 * (print each event), KEEPALIVE_LOG (where the raw log goes; default a temp file), CHROMIUM_PATH.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKeepaliveLab, type LabEntry, type Scenario } from '../test/support/mv3-keepalive';

const SCENARIOS: readonly Scenario[] = [
  { name: 'a-ws20', transport: 'ws', every: 20, what: 'WebSocket, server message every 20 s' },
  { name: 'b-sse20', transport: 'sse', every: 20, what: 'streaming fetch, SSE comment every 20 s' },
  { name: 'c-poll25', transport: 'poll', every: 25, what: 'long poll answered after 25 s, re-issued at once' },
  { name: 'd-idle', transport: 'none', every: 0, what: 'nothing open (baseline)' },
  { name: 'e-sse20-alarm', transport: 'sse', every: 20, alarmMinutes: 0.5, what: '(b) + 30 s alarm; each start reopens the stream' },
  { name: 'f-poll25-alarm', transport: 'poll', every: 25, alarmMinutes: 0.5, what: '(c) + 30 s alarm; each start polls again' },
  { name: 'g-sse20-api', transport: 'sse', every: 20, apiCallOnMessage: true, what: '(b) + an extension API call on each SSE message' },
  { name: 'h-poll25-api', transport: 'poll', every: 25, apiCallOnMessage: true, what: '(c) + an extension API call on each poll answer' },
  { name: 'j-sse20-alarm60', transport: 'sse', every: 20, alarmMinutes: 1, what: '(b) + 1 min alarm; each start reopens the stream' },
  { name: 'k-sse20-alarm30-stopped', transport: 'sse', every: 20, alarmMinutes: 0.5, what: '(e), and the worker stopped through CDP at irregular times' },
  { name: 'l-poll25-alarm30-stopped', transport: 'poll', every: 25, alarmMinutes: 0.5, what: '(f), and the worker stopped through CDP at irregular times' },
  { name: 'i-sse5', transport: 'sse', every: 5, what: 'streaming fetch, SSE comment every 5 s' },
];

const seconds = Number(process.env.KEEPALIVE_SECONDS ?? 420);
const wanted = process.env.KEEPALIVE_SCENARIOS?.split(',');
const scenarios = SCENARIOS.filter((s) => !wanted || wanted.includes(s.name));
const lab = await startKeepaliveLab({ verbose: Boolean(process.env.KEEPALIVE_VERBOSE) });
const version = await lab.version();
console.log(`${version}; ${scenarios.length} scenarios in parallel for ${seconds} s`);
for (const s of scenarios) await lab.launch(s);
// Forced stops (as Chrome may stop a worker at any time) at phases spread over the 30 s alarm period.
const FORCED_STOPS_S = [47, 101, 163, 209, 262, 331, 379];
const forced = scenarios
  .filter((s) => s.name.endsWith('-stopped'))
  .flatMap((s) =>
    FORCED_STOPS_S.filter((at) => at < seconds - 35).map((at) => setTimeout(() => void lab.stopWorker(s.name), at * 1000)),
  );
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
for (const timer of forced) clearTimeout(timer);
const end = lab.now();
await lab.close();
const logPath = process.env.KEEPALIVE_LOG ?? join(tmpdir(), `mv3-keepalive-${Date.now()}.json`);
writeFileSync(logPath, JSON.stringify({ version, seconds, end, log: lab.log }, null, 1));
console.log(`raw log: ${logPath}`);
for (const s of scenarios) console.log(JSON.stringify(summarize(lab.log, s, end)));

/** What one scenario's log says, in seconds. */
interface ScenarioSummary {
  readonly name: string;
  readonly what: string;
  /** Worker starts seen (hellos). */
  readonly instances: number;
  /** Each instance's life, seconds: from its hello to its target destroyed (or the end). */
  readonly lifetimes: number[];
  /** Longest time one instance kept its transport open (a stream, a socket, a chain of polls), seconds. */
  readonly longestConnection: number;
  /** Seconds with no transport open between two openings (what a user misses). */
  readonly gaps: number[];
  /** SSE / WS messages the server sent, in all. */
  readonly messages: number;
}

/** Reads a scenario's lives, connections and gaps out of the lab's log. */
function summarize(log: readonly LabEntry[], scenario: Scenario, end: number): ScenarioSummary {
  const entries = log.filter((e) => e.s === scenario.name);
  const hellos = entries.filter((e) => e.ev === 'hello');
  const destroyed = entries.filter((e) => e.ev === 'cdp-sw-destroyed').map((e) => e.t);
  const r = (x: number): number => Math.round(x * 10) / 10;
  const lifetimes = hellos.map((h, k) => {
    const next = hellos[k + 1]?.t ?? end;
    const stop = destroyed.find((d) => d > h.t && d <= next);
    return r((stop ?? next) - h.t);
  });
  const intervals: Array<[number, number]> = [];
  const open = new Map<string, number>();
  for (const e of entries) {
    const key = e.i ?? '?';
    if (e.ev === 'sse-open' || e.ev === 'ws-open' || e.ev === 'poll-open') {
      if (!open.has(key)) open.set(key, e.t);
    } else if (e.ev === 'sse-close' || e.ev === 'ws-close' || e.ev === 'poll-aborted') {
      const from = open.get(key);
      if (from !== undefined) intervals.push([from, e.t]);
      open.delete(key);
    }
  }
  for (const from of open.values()) intervals.push([from, end]);
  intervals.sort((x, y) => x[0] - y[0]);
  const gaps: number[] = [];
  for (let k = 1; k < intervals.length; k++) {
    const gap = intervals[k]![0] - intervals[k - 1]![1];
    if (gap > 0) gaps.push(r(gap));
  }
  return {
    name: scenario.name,
    what: scenario.what ?? '',
    instances: hellos.length,
    lifetimes,
    longestConnection: r(Math.max(0, ...intervals.map(([a, b]) => b - a))),
    gaps,
    messages: entries.reduce((sum, e) => sum + (e.n ?? 0), 0),
  };
}
