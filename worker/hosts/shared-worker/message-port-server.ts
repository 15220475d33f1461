/**
 * Serves hub sessions over native `MessagePort`s: one `HubSession` per port, exposed with Comlink
 * (calls of `HubApi` methods only, `lib/rpc/call-filter.ts`), closed when the view says `bye`, when Comlink releases the proxy, or when the tab that opened the
 * port is gone (see `./tab-sessions`). The SharedWorker host hands it each `connect` event's port;
 * the dedicated-Worker fallback hands it the port a tab sends in its `connect` message. It also
 * keeps which port's tab the user looks at, so an alert is shown there and nowhere else.
 */
import * as Comlink from 'comlink';
import { toErrorData } from '../../../lib/errors';
import { filterCalls } from '../../../lib/rpc/call-filter';
import { HUB_METHOD_NAMES, type HubApi } from '../../../lib/rpc/hub-api';
import { parseHubWorkerMessage, type HubWorkerMessage } from '../../../lib/rpc/hub-worker-messages';
import type { Hub, HubSession } from '../../core/hub';
import type { Logger, Notifier } from '../../core/platform';
import { rpcSurface } from '../../core/sessions/rpc-surface';
import type { TabSessions } from './tab-sessions';

/** What is used of a view's `MessagePort`; Node's and the browser's fit. */
export interface ViewMessagePort extends Comlink.Endpoint {
  close(): void;
}

export interface MessagePortServerDeps {
  /** The hub, opened once; a rejection ends the port (the view reconnects, which asks again). */
  readonly hub: () => Promise<Hub>;
  readonly tabs: TabSessions;
  /** What the views may call on a session; default `rpcSurface`. */
  readonly surface?: (session: HubSession) => HubApi;
  readonly log: Logger;
}

export interface MessagePortServer {
  serve(port: ViewMessagePort): void;
  /** Ports being served, for tests and logs. */
  ports(): number;
  /** The port of the tab that most recently said it has the user's focus and still has it, or `null`. */
  focused(): ViewMessagePort | null;
  /** Posts a control message to every port served. */
  broadcast(message: HubWorkerMessage): void;
}

export function createMessagePortServer(deps: MessagePortServerDeps): MessagePortServer {
  const surface = deps.surface ?? rpcSurface;
  /** Each port served, with when its tab last said it got focus (`null`: not focused). */
  const served = new Map<ViewMessagePort, number | null>();
  let focusCounter = 0;

  function serve(port: ViewMessagePort): void {
    let session: HubSession | null = null;
    let ended = false;
    let untie = (): void => {};

    const end = (): void => {
      if (ended) return;
      ended = true;
      served.delete(port);
      untie();
      port.removeEventListener('message', onControl);
      session?.close();
      port.close();
    };

    function onControl(event: Event): void {
      const message = parseHubWorkerMessage((event as MessageEvent<unknown>).data);
      if (message?.type === 'switchboard:tab') {
        untie();
        untie = deps.tabs.attach(message.tab, end);
      } else if (message?.type === 'switchboard:bye') {
        end();
      } else if (message?.type === 'switchboard:focus' && served.has(port)) {
        focusCounter += 1;
        served.set(port, message.focused ? focusCounter : null);
      }
    }

    served.set(port, null);
    // A MessagePort queues what arrives until `start()`, which Comlink's `expose` calls once the
    // hub is open: the view's first calls wait there, none is lost.
    port.addEventListener('message', onControl);
    deps.hub().then(
      (hub) => {
        if (ended) return;
        session = hub.openSession();
        // Only calls of `HubApi` methods reach Comlink: a view of the dashboard's origin that was
        // compromised still cannot read or write the worker's objects, nor `Object.prototype`.
        Comlink.expose({ ...surface(session), [Comlink.finalizer]: end }, filterCalls(port, HUB_METHOD_NAMES));
      },
      (error: unknown) => {
        deps.log.warn('could not open the hub for a view', { error: toErrorData(error) });
        end();
      },
    );
  }

  return {
    serve,
    ports: () => served.size,
    focused() {
      let best: [ViewMessagePort, number] | null = null;
      for (const [port, at] of served) if (at !== null && (best === null || at > best[1])) best = [port, at];
      return best?.[0] ?? null;
    },
    broadcast(message) {
      for (const port of served.keys()) port.postMessage(message);
    },
  };
}

/**
 * Shows an alert as a banner in the dashboard tab the user is looking at, and only there; with no
 * dashboard tab in focus it stays in the feed (a web page has no system notifications without
 * asking for permission, which the dashboard does not). The tab learns only the id and fetches the
 * text with `overlay(id)`; `hide` reaches every tab.
 */
export function createTabNotifier(server: Pick<MessagePortServer, 'focused' | 'broadcast'>): Notifier {
  return {
    show(item) {
      server.focused()?.postMessage({ type: 'switchboard:overlay', id: item.id } satisfies HubWorkerMessage);
    },
    hide(id) {
      server.broadcast({ type: 'switchboard:overlay-hide', id });
    },
  };
}
