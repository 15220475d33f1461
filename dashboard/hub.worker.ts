/** The dashboard's hub worker (shared, or dedicated where `SharedWorker` does not exist). */
import { startHubWorkerHost, type HubWorkerScope } from '@/worker/hosts/shared-worker/host';

startHubWorkerHost(globalThis as unknown as HubWorkerScope);
