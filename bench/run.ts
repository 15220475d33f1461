/**
 * Runs every benchmark and prints one table each, Switchboard beside its peer in the same run, and
 * writes each table and its chart to `docs/bench/` for README (`./report`). `npm run bench`;
 * `BENCH=outbox,recovery npm run bench` runs only the named ones (the slugs below).
 * Numbers depend on the machine; compare columns within one run.
 */
import { abuseRows } from './abuse';
import { alertEngineRows } from './alert-engine';
import { CLUSTER_CHART, CLUSTER_TITLE, clusterRows } from './cluster';
import { CONTENT_SCRIPT_TITLE, contentScriptRows } from './content-script';
import { DASHBOARD_CPU_TITLE, dashboardCpuRows } from './dashboard-cpu';
import { DURABLE_PUBLISH_CHART, DURABLE_PUBLISH_TITLE, durablePublishRows } from './durable-publish';
import { fanoutRows } from './fanout';
import { outboxRows } from './outbox';
import { perTabRows } from './per-tab';
import { POPUP_LATENCY_TITLE, popupLatencyRows } from './popup-latency';
import { recoveryRows } from './recovery';
import { recoveryChromiumRows } from './recovery-chromium';
import { report, type Chart } from './report';
import { SERVER_MEMORY_TITLE, serverMemoryRows } from './server-memory';
import { STATE_FANOUT_TITLE, stateFanoutRows } from './server-state';
import { STREAM_FANOUT_TITLE, streamFanoutRows } from './server-streams';
import type { Row } from './table';
import { TRANSPORTS_TITLE, transportRows } from './transports';
import { wireSizeRows } from './wire-size';

interface Bench {
  readonly slug: string;
  readonly title: string;
  readonly rows: () => Row[] | Promise<Row[]>;
  readonly chart?: Chart;
}

const BENCHES: readonly Bench[] = [
  {
    slug: 'wire-size',
    title: 'Bytes per price tick: msgpack (Switchboard) vs JSON',
    rows: wireSizeRows,
    chart: { values: ['msgpack B/tick', 'JSON B/tick'], label: ['ticks per frame'], axis: 'bytes per tick' },
  },
  {
    slug: 'hub-fanout',
    title: 'Hub decode + fan-out of 50,000 price ticks to 10 views: conflation on vs off',
    rows: fanoutRows,
    chart: { values: ['ticks/s'], label: ['conflation'] },
  },
  {
    slug: 'recovery',
    title: 'Recovery of 10,000 events missed while disconnected: Switchboard vs Socket.IO 4 CSR',
    rows: recoveryRows,
    chart: { values: ['time to catch up ms'], label: ['while away'], colour: 'system' },
  },
  {
    slug: 'recovery-chromium',
    title: 'Recovery of 10,000 missed events in Chromium: the built extension vs a Socket.IO 4 CSR page (median of interleaved rounds)',
    rows: recoveryChromiumRows,
    chart: { values: ['reconnect → all stored/handled ms'], label: ['system'] },
  },
  {
    slug: 'alert-engine',
    title: 'Alert engine: ticks per second with 100,000 active rules across 100 symbols: per-symbol index vs scanning every rule',
    rows: alertEngineRows,
    chart: { values: ['ticks/s'], label: ['engine'], log: true },
  },
  {
    slug: 'outbox',
    title:
      'Outbox: 1,000 client messages queued offline, one user (100 alert.create, the per-user limit, + 900 alert.pause/resume), time from reconnect until all acked; the hub core in Node, the server in a process of its own',
    rows: outboxRows,
    chart: { values: ['reconnect → all acked ms (median)'], label: ['client'] },
  },
  {
    slug: 'per-tab',
    title: 'The cost of open tabs: N views watching 20 symbols while 5,000 ticks arrive at ~5,000/s; Switchboard (one shared hub) vs Socket.IO 4 (a socket per tab)',
    rows: perTabRows,
    chart: { values: ['KiB to the browser'], label: ['tabs'], colour: 'system', log: true },
  },
  {
    slug: 'abuse',
    title:
      'One abusive client: server RSS growth over 5 s, Switchboard beside Socket.IO 4 with its defaults (a fresh server process per run, median of 3 interleaved rounds)',
    rows: abuseRows,
    chart: { values: ['peak RSS growth MB (median)'], label: ['attack'], colour: 'server', log: true },
  },
  {
    slug: 'dashboard-cpu',
    title: DASHBOARD_CPU_TITLE,
    rows: dashboardCpuRows,
    chart: { values: ['browser CPU-s in the window'], label: ['tabs'], colour: 'system' },
  },
  {
    slug: 'popup-latency',
    title: POPUP_LATENCY_TITLE,
    rows: popupLatencyRows,
    chart: { values: ['p50 ms', 'p99 ms'], label: ['system'], axis: 'publish → DOM ms' },
  },
  {
    slug: 'content-script',
    title: CONTENT_SCRIPT_TITLE,
    rows: contentScriptRows,
    chart: { values: ['evaluate ms / page (median)'], label: ['script'] },
  },
  { slug: 'durable-publish', title: DURABLE_PUBLISH_TITLE, rows: durablePublishRows, chart: DURABLE_PUBLISH_CHART },
  {
    slug: 'server-streams',
    title: STREAM_FANOUT_TITLE,
    rows: streamFanoutRows,
    chart: { values: ['CPU µs / delivered event'], label: ['server'] },
  },
  {
    slug: 'server-state',
    title: STATE_FANOUT_TITLE,
    rows: stateFanoutRows,
    chart: { values: ['receive p50 ms'], label: ['scenario'], colour: 'server', log: true },
  },
  {
    slug: 'server-memory',
    title: SERVER_MEMORY_TITLE,
    rows: serverMemoryRows,
    chart: { values: ['heap + external KB / connection', 'RSS KB / connection'], label: ['server'], axis: 'KB per idle connection' },
  },
  { slug: 'cluster', title: CLUSTER_TITLE, rows: clusterRows, chart: CLUSTER_CHART },
  {
    slug: 'transports',
    title: TRANSPORTS_TITLE,
    rows: transportRows,
    chart: { values: ['p50 ms', 'p99 ms'], label: ['transport'], axis: 'publish → receive ms' },
  },
];

const only = process.env.BENCH?.split(',').map((slug) => slug.trim()).filter(Boolean);
const unknown = only?.filter((slug) => !BENCHES.some((bench) => bench.slug === slug)) ?? [];
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(', ')}; there are: ${BENCHES.map((bench) => bench.slug).join(', ')}`);
  process.exit(2);
}

const failed: string[] = [];
console.log(`Switchboard benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const bench of BENCHES) {
  if (only && !only.includes(bench.slug)) continue;
  const started = Date.now();
  console.error(`[bench] ${bench.slug} …`);
  try {
    await report(bench.slug, bench.title, await bench.rows(), bench.chart);
    console.error(`[bench] ${bench.slug} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } catch (error) {
    // One benchmark that cannot finish (a browser that would not start, a server that never
    // answered) is reported and the others still run; the exit code says something failed.
    failed.push(bench.slug);
    console.log(`\n${bench.title}\nFAILED: ${error instanceof Error ? error.message : String(error)}`);
    console.error(error);
  }
}
if (failed.length > 0) {
  console.error(`[bench] failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
