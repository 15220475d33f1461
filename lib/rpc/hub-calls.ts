/**
 * The view client's calls: every `HubApi` method except `listen`, made on the link that is ready
 * now or after the next reconnect. A call cut off by a disconnect runs once more on the next link
 * when `HUB_API_METHODS` says doing it twice does no harm; otherwise it rejects with
 * `HubDisconnectedError`.
 */
import type * as Comlink from 'comlink';
import { HubDisconnectedError, toErrorData } from '../errors';
import { HUB_API_METHODS, HUB_METHOD_NAMES, type HubApi, type HubMethod } from './hub-api';

/** The hub calls a view makes; `listen`, `pause` and `resume` are the client's own business. */
export type HubClientApi = Omit<HubApi, 'listen' | 'pause' | 'resume'>;

/** A link to the hub as the calls see it: the remote, and how to drop it (which reconnects). */
export interface CallLink {
  readonly remote: Comlink.Remote<HubApi>;
  /** Drops the link if it is still the current one. */
  drop(): void;
}

export const isDisconnect = (error: unknown): boolean => error instanceof Error && error.name === 'HubDisconnectedError';

/** Runs `run` on the ready link; after a disconnect, once more on the next link if `retry`. */
export async function callHub<T>(ready: () => Promise<CallLink>, run: (remote: Comlink.Remote<HubApi>) => Promise<T>, retry: boolean): Promise<T> {
  for (let tries = 0; ; tries += 1) {
    const link = await ready();
    try {
      return await run(link.remote);
    } catch (error) {
      if (!isDisconnect(error)) throw error;
      link.drop();
      if (tries >= 1 || !retry) throw new HubDisconnectedError(toErrorData(error).message);
    }
  }
}

type CalledMethod = Exclude<HubMethod, 'listen' | 'pause' | 'resume' | 'subscribe' | 'unsubscribe'>;
/** Methods the client makes itself: registering, visibility, and the remembered subscriptions. */
const OWN_METHODS: ReadonlySet<HubMethod> = new Set(['listen', 'pause', 'resume', 'subscribe', 'unsubscribe']);
type AnyMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * Arrays are copied when the call is made: it may wait for a reconnect, and the caller's array
 * could change meanwhile.
 */
const snapshot = (arg: unknown): unknown => (Array.isArray(arg) ? [...arg] : arg);

/**
 * The client's `api`: each method of the table calls the hub with its retry policy; `subscribe`
 * and `unsubscribe` are the client's remembering ones.
 */
export function createHubCalls(
  ready: () => Promise<CallLink>,
  remembered: Pick<HubClientApi, 'subscribe' | 'unsubscribe'>,
): HubClientApi {
  const api: Partial<Record<HubMethod, AnyMethod>> = {};
  for (const name of HUB_METHOD_NAMES) {
    if (OWN_METHODS.has(name)) continue;
    const { retry } = HUB_API_METHODS[name];
    api[name] = (...args) => callHub(ready, (remote) => (remote[name] as AnyMethod)(...args.map(snapshot)), retry);
  }
  return { ...(api as Pick<HubClientApi, CalledMethod>), ...remembered };
}
