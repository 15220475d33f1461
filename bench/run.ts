/**
 * Runs every benchmark and prints one table each, Switchboard beside its peer in the same run.
 * `npm run bench`. Numbers depend on the machine; compare columns within one run.
 */
import { printTable } from './table';
import { wireSizeRows } from './wire-size';

console.log(`Switchboard benchmarks — node ${process.version}, ${new Date().toISOString()}`);
printTable('Bytes per price tick: msgpack (Switchboard) vs JSON', wireSizeRows());
