/**
 * Runs every benchmark and prints one table each, Switchboard beside its peer in the same run, and
 * writes each table and its chart to `docs/bench/` for README (`./report`). `npm run bench`.
 * Numbers depend on the machine; compare columns within one run.
 */
import { abuseRows } from './abuse';
import { alertEngineRows } from './alert-engine';
import { DURABLE_PUBLISH_CHART, DURABLE_PUBLISH_TITLE, durablePublishRows } from './durable-publish';
import { fanoutRows } from './fanout';
import { outboxRows } from './outbox';
import { perTabRows } from './per-tab';
import { recoveryRows } from './recovery';
import { report } from './report';
import { wireSizeRows } from './wire-size';

console.log(`Switchboard benchmarks — node ${process.version}, ${new Date().toISOString()}`);
await report('wire-size', 'Bytes per price tick: msgpack (Switchboard) vs JSON', wireSizeRows(), {
  values: ['msgpack B/tick', 'JSON B/tick'],
  label: ['ticks per frame'],
  axis: 'bytes per tick',
});
await report('hub-fanout', 'Hub decode + fan-out of 50,000 price ticks to 10 views: conflation on vs off', await fanoutRows(), {
  values: ['ticks/s'],
  label: ['conflation'],
});
await report('recovery', 'Recovery of 10,000 events missed while disconnected: Switchboard vs Socket.IO 4 CSR', await recoveryRows(), {
  values: ['time to catch up ms'],
  label: ['while away'],
  colour: 'system',
});
await report(
  'alert-engine',
  'Alert engine: ticks per second with 100,000 active rules across 100 symbols: per-symbol index vs scanning every rule',
  alertEngineRows(),
  { values: ['ticks/s'], label: ['engine'], log: true },
);
await report(
  'outbox',
  'Outbox: 1,000 client messages queued offline, one user (100 alert.create, the per-user limit, + 900 alert.pause/resume), time from reconnect until all acked; hub core + server in one Node process',
  await outboxRows(),
  { values: ['reconnect → all acked ms'], label: ['client'] },
);
await report(
  'per-tab',
  'The cost of open tabs: N views watching 20 symbols while 5,000 ticks arrive at ~5,000/s; Switchboard (one shared hub) vs Socket.IO 4 (a socket per tab)',
  await perTabRows(),
  { values: ['KiB to the browser'], label: ['tabs'], colour: 'system', log: true },
);
await report(
  'abuse',
  'One abusive client: server RSS growth over 5 s, Switchboard beside Socket.IO 4 with its defaults (a fresh server process per run, median of 3 interleaved rounds)',
  await abuseRows(),
  { values: ['peak RSS growth MB (median)'], label: ['attack'], colour: 'server', log: true },
);
await report('durable-publish', DURABLE_PUBLISH_TITLE, await durablePublishRows(), DURABLE_PUBLISH_CHART);
