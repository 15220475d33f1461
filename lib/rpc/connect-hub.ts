/**
 * The extension views' way to the hub: `createHubClient` over a `runtime.Port` to the background
 * (`createPortEndpoint`, which pipes Comlink proxies and rejects calls when the port drops).
 * Reconnecting also wakes a stopped service worker.
 */
import { HUB_PORT_NAME } from './hub-api';
import { createHubClient, type HubClientOptions, type HubClient } from './hub-client';
import { connectingPipes, createPortEndpoint, type RuntimePortLike } from './runtime-port-endpoint';

export { reconnectDelay, type HubClientApi, type HubClientOptions, type HubClient } from './hub-client';

export interface ConnectHubOptions extends HubClientOptions {
  /** Opens a port to the background, e.g. `(name) => browser.runtime.connect({ name })`. */
  readonly connect: (name: string) => RuntimePortLike;
}

/** Connects a view to the extension's hub and keeps it connected until `close()`. */
export function connectHub(options: ConnectHubOptions): HubClient {
  return createHubClient(
    // `connect` throws when the extension was reloaded under this view; the client retries.
    (timeoutMs) => createPortEndpoint(options.connect(HUB_PORT_NAME), { pipes: connectingPipes(options.connect), timeoutMs }),
    options,
  );
}
