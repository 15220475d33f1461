/**
 * A `SocketFactory` that picks the transport of each attempt by `./transport-plan.ts`'s rules and
 * watches how it goes, so the connection above stays as it was: it asks for a socket, and gets a
 * WebSocket or an HTTP session behind the same `SocketLike`, named by its `transport`. What worked
 * is remembered per server URL, and kept across restarts through `remember` (`./transport-memory.ts`).
 *
 * While connected over HTTP, `./step-up-probe.ts` tries the better transports on the side.
 */
import type { HttpTransportName, TransportName } from '../../../lib/rpc/hub-api';
import { CloseCode } from '../../../lib/wire/close-codes';
import type { Clock, Logger, NetworkMonitor, SocketFactory, SocketLike } from '../platform';
import { openHttpSocket } from './http-socket';
import { httpBaseUrl, type FetchLike } from './http-wire';
import { probeBeside } from './step-up-probe';
import { afterOutcome, FRESH_RECORD, nextTransport, shouldCheckHttp, type Outcome, type ServerRecord, type TransportPlanOptions } from './transport-plan';

export interface TransportChoiceDeps {
  /** Opens a WebSocket (the host's). */
  readonly openWebSocket: SocketFactory;
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options: TransportPlanOptions;
  /** When it comes back online, servers on HTTP are probed at the next attempt. Default: not watched. */
  readonly network?: NetworkMonitor;
  /** Called on each delivery over HTTP (see `HttpSocketDeps.deliveryHook`). */
  readonly deliveryHook?: () => void;
  /** What worked per server URL when the hub opened (`recallTransports`). Default: nothing known. */
  readonly initial?: ReadonlyMap<string, ServerRecord>;
  /** Keeps a server's record whenever its transport or last probe changes. Default: memory only. */
  remember?(url: string, record: ServerRecord): void;
}

/** Watches a socket's events without taking its handlers: the connection sets those on the wrapper. */
function watched(inner: SocketLike, transport: TransportName, watch: { open(): void; close(): void }): SocketLike {
  const outer: SocketLike & { transport: TransportName } = {
    transport,
    get binaryType() {
      return inner.binaryType;
    },
    set binaryType(value) {
      inner.binaryType = value;
    },
    get readyState() {
      return inner.readyState;
    },
    send: (data) => inner.send(data),
    close: (code, reason) => inner.close(code, reason),
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  inner.onopen = (event) => {
    watch.open();
    outer.onopen?.(event);
  };
  inner.onmessage = (event) => outer.onmessage?.(event);
  inner.onclose = (event) => {
    watch.close();
    outer.onclose?.(event);
  };
  inner.onerror = (event) => outer.onerror?.(event);
  return outer;
}

/**
 * `GET …/rt/sessions`: whether the server would make an HTTP session now. It answers under the
 * Origin policy and CORS of the transports themselves, so an answer also says the transports
 * accept this origin (a Firefox background page has no host permission, and `/healthz` sends no
 * CORS headers).
 */
const healthUrl = (wsUrl: string): string => `${httpBaseUrl(wsUrl)}/sessions`;

/** The factory, and its end (it stops watching the network). */
export type TransportChoice = SocketFactory & { close(): void };

export function createTransportChoice(deps: TransportChoiceDeps): TransportChoice {
  const { clock, log, options } = deps;
  const records = new Map<string, ServerRecord>(deps.initial);
  const checking = new Set<string>();

  const record = (url: string): ServerRecord => records.get(url) ?? FRESH_RECORD;
  function note(url: string, outcome: Outcome): void {
    const before = record(url);
    const after = afterOutcome(before, outcome);
    records.set(url, after);
    if (after.mode !== before.mode) log.info(`transport ${before.mode} → ${after.mode}`, { url, outcome: outcome.k });
    // Written only when what is kept changes (see `StoredTransport`).
    if (after.mode !== before.mode || after.probedAt !== before.probedAt) deps.remember?.(url, after);
    // Asked once per failed upgrade (the connection's backoff paces them), never in a loop of its own.
    if (outcome.k === 'ws failed' && shouldCheckHttp(after, options)) checkHttp(url);
  }

  function checkHttp(url: string): void {
    if (checking.has(url)) return;
    checking.add(url);
    void deps
      .fetch(healthUrl(url), { method: 'GET' })
      .then((res) => res.ok, () => false)
      .then((ok) => {
        checking.delete(url);
        log.info('WebSocket keeps failing; asked GET /rt/sessions', { url, ok });
        note(url, { k: 'http checked', ok, at: clock.now() });
      });
  }

  function openWebSocket(url: string, probe: boolean): SocketLike {
    let opened = false;
    const inner = deps.openWebSocket(url);
    return watched(inner, 'websocket', {
      open() {
        opened = true;
        note(url, { k: probe ? 'probe opened' : 'ws opened' });
      },
      close() {
        if (!opened) note(url, probe ? { k: 'probe failed', at: clock.now() } : { k: 'ws failed' });
      },
    });
  }

  function openHttp(url: string, transport: HttpTransportName): SocketLike {
    let delivered = false;
    let opened = false;
    let stopProbing = (): void => {};
    let silence: unknown = null;
    const inner = openHttpSocket(url, {
      fetch: deps.fetch,
      transport,
      deliveryHook: () => {
        delivered = true;
        deps.deliveryHook?.();
      },
    });
    const outer = watched(inner, transport, {
      open() {
        opened = true;
        if (!options.only) stopProbing = probeBeside(url, outer, transport, { ...deps, note: (outcome) => note(url, outcome) });
        // A buffering proxy holds the stream's first bytes (even `welcome`) until the response ends.
        if (transport === 'streaming') {
          silence = clock.setTimeout(() => {
            if (!delivered) outer.close(CloseCode.abnormal, 'the stream delivered nothing');
          }, options.streamSilenceMs);
        }
      },
      close() {
        clock.clearTimeout(silence);
        stopProbing();
        // Only a session that opened: a server that cannot be reached says nothing about buffering.
        if (transport === 'streaming' && opened && !delivered) note(url, { k: 'stream silent' });
      },
    });
    return outer;
  }

  const open = (url: string): SocketLike => {
    const { transport, probe } = nextTransport(record(url), clock.now(), options);
    if (transport === 'websocket') return openWebSocket(url, probe);
    return openHttp(url, transport);
  };
  // The network came back (perhaps another network): the next attempt to each server on HTTP is a
  // WebSocket probe, instead of waiting out the interval on a fallback it may no longer need. Not
  // remembered: a restart probes by its own clock. Subscribed before the connection is made, so the
  // reconnect that follows already probes.
  const unwatch = deps.network?.onChange((online) => {
    if (!online) return;
    for (const [url, known] of records) if (known.mode !== 'websocket') records.set(url, { ...known, probedAt: 0 });
  });
  return Object.assign(open, { close: () => unwatch?.() });
}
