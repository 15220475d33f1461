// Preloaded into every server of the memory bench (`NODE_OPTIONS=--import=<this file>`), the same
// for Switchboard and its peers: on SIGUSR2 it collects garbage twice and prints one line,
// `memory-probe {rss, heapTotal, heapUsed, external, arrayBuffers}`, so the bench reads live memory
// rather than whatever garbage the last collection left. Plain JavaScript so it loads before tsx.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
process.on('SIGUSR2', () => {
  gc();
  gc();
  process.stdout.write(`memory-probe ${JSON.stringify(process.memoryUsage())}\n`);
});
