/**
 * What of a `HubSession` a host exposes over Comlink: only the `HubApi` methods (the table in
 * `HUB_API_METHODS`), never `close` or anything else the object may carry, so a view cannot end
 * another view's session or reach the hub.
 */
import { HUB_METHOD_NAMES, type HubApi, type HubMethod } from '../../../lib/rpc/hub-api';

export function rpcSurface(session: HubApi): HubApi {
  const surface: Partial<Record<HubMethod, unknown>> = {};
  for (const name of HUB_METHOD_NAMES) {
    const method = session[name] as (...args: never[]) => unknown;
    surface[name] = method.bind(session);
  }
  return surface as HubApi;
}
