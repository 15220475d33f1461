/**
 * Runs every benchmark and prints one table each, Switchboard beside its peer in the same run.
 * `npm run bench`. Numbers depend on the machine; compare columns within one run.
 */
import { fanoutRows } from './fanout';
import { recoveryRows } from './recovery';
import { printTable } from './table';
import { wireSizeRows } from './wire-size';

console.log(`Switchboard benchmarks — node ${process.version}, ${new Date().toISOString()}`);
printTable('Bytes per price tick: msgpack (Switchboard) vs JSON', wireSizeRows());
printTable('Hub decode + fan-out of 50,000 price ticks to 10 views: conflation on vs off', await fanoutRows());
printTable('Recovery of 10,000 events missed while disconnected: Switchboard vs Socket.IO 4 CSR', await recoveryRows());
