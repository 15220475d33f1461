/**
 * Runs every benchmark and prints one table each, Switchboard beside its peer in the same run.
 * `npm run bench`. Numbers depend on the machine; compare columns within one run.
 */
import { abuseRows } from './abuse';
import { alertEngineRows } from './alert-engine';
import { CONTENT_SCRIPT_TITLE, contentScriptRows } from './content-script';
import { DASHBOARD_CPU_TITLE, dashboardCpuRows } from './dashboard-cpu';
import { fanoutRows } from './fanout';
import { outboxRows } from './outbox';
import { perTabRows } from './per-tab';
import { POPUP_LATENCY_TITLE, popupLatencyRows } from './popup-latency';
import { recoveryRows } from './recovery';
import { printTable } from './table';
import { wireSizeRows } from './wire-size';

console.log(`Switchboard benchmarks — node ${process.version}, ${new Date().toISOString()}`);
printTable('Bytes per price tick: msgpack (Switchboard) vs JSON', wireSizeRows());
printTable('Hub decode + fan-out of 50,000 price ticks to 10 views: conflation on vs off', await fanoutRows());
printTable('Recovery of 10,000 events missed while disconnected: Switchboard vs Socket.IO 4 CSR', await recoveryRows());
printTable('Alert engine: ticks per second with 100,000 active rules across 100 symbols: per-symbol index vs scanning every rule', alertEngineRows());
printTable('Outbox: 1,000 client messages queued offline, one user (100 alert.create, the per-user limit, + 900 alert.pause/resume), time from reconnect until all acked; hub core + server in one Node process', await outboxRows());
printTable('The cost of open tabs: N views watching 20 symbols while 5,000 ticks arrive at ~5,000/s; Switchboard (one shared hub) vs Socket.IO 4 (a socket per tab)', await perTabRows());
printTable(
  'One abusive client: server RSS growth over 5 s, Switchboard beside Socket.IO 4 with its defaults (a fresh server process per run, median of 3 interleaved rounds)',
  await abuseRows(),
);
printTable(DASHBOARD_CPU_TITLE, await dashboardCpuRows());
printTable(POPUP_LATENCY_TITLE, await popupLatencyRows());
printTable(CONTENT_SCRIPT_TITLE, await contentScriptRows());
