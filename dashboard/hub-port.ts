/**
 * Opens a port to the dashboard's hub worker. Every tab of the origin shares one `SharedWorker`
 * (same script URL and name), hence one hub and one WebSocket. Where `SharedWorker` does not exist
 * (Chrome on Android) the tab starts the same script as a dedicated `Worker` of its own and hands
 * it one end of a `MessageChannel`: that tab then has its own hub and socket (see README).
 *
 * The `new URL(..., import.meta.url)` must stay inside each constructor call: that is the pattern
 * Vite recognises to bundle the worker script.
 */
import type { HubWorkerMessage } from '@/lib/rpc/hub-worker-messages';

const WORKER_NAME = 'switchboard-hub';

/** Whether every tab shares one hub; otherwise each has its own (see `./feed-sync`). */
export const hubIsShared = typeof SharedWorker === 'function';

let dedicated: Worker | null = null;

export function openHubPort(): MessagePort {
  if (hubIsShared) {
    return new SharedWorker(new URL('./hub.worker.ts', import.meta.url), { type: 'module', name: WORKER_NAME }).port;
  }
  dedicated ??= new Worker(new URL('./hub.worker.ts', import.meta.url), { type: 'module', name: WORKER_NAME });
  const channel = new MessageChannel();
  dedicated.postMessage({ type: 'switchboard:connect' } satisfies HubWorkerMessage, [channel.port2]);
  return channel.port1;
}
