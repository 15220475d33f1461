/**
 * A `SocketFactory` that picks the transport of each attempt by `./transport-plan.ts`'s rules and
 * watches how it goes, so the connection above stays as it was: it asks for a socket, and gets a
 * WebSocket or an HTTP session behind the same `SocketLike`, named by its `transport`. What worked
 * is remembered per server URL, and kept across restarts through `remember` (`./transport-memory.ts`).
 *
 * Stepping up while connected over HTTP: a WebSocket is opened on the side every
 * `probeIntervalMs`; when it opens it is closed at once (it never says `hello`), and the HTTP
 * socket is closed with 1012 so the connection reconnects, now over WebSocket. On long polling, a
 * WebSocket probe that fails is followed by a stream probe: a session read as a stream, closed as
 * soon as anything arrives on it (the server writes a comment at once) or after `streamSilenceMs`;
 * one that was heard steps up to streaming the same way.
 */
import type { TransportName } from '../../../lib/rpc/hub-api';
import { CloseCode } from '../../../lib/wire/close-codes';
import type { Clock, Logger, SocketFactory, SocketLike } from '../platform';
import { openHttpSocket } from './http-socket';
import { httpBaseUrl, type FetchLike } from './http-wire';
import { afterOutcome, FRESH_RECORD, nextTransport, shouldCheckHttp, type Outcome, type ServerRecord, type TransportPlanOptions } from './transport-plan';

export interface TransportChoiceDeps {
  /** Opens a WebSocket (the host's). */
  readonly openWebSocket: SocketFactory;
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options: TransportPlanOptions;
  /** Called on each delivery over HTTP (see `HttpSocketDeps.deliveryHook`). */
  readonly deliveryHook?: () => void;
  /** What worked per server URL when the hub opened (`recallTransports`). Default: nothing known. */
  readonly initial?: ReadonlyMap<string, ServerRecord>;
  /** Keeps a server's record whenever its transport or last probe changes. Default: memory only. */
  remember?(url: string, record: ServerRecord): void;
}

/** Watches a socket's events without taking its handlers: the connection sets those on the wrapper. */
function watched(inner: SocketLike, transport: TransportName, watch: { open(): void; message(): void; close(): void }): SocketLike {
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
  inner.onmessage = (event) => {
    watch.message();
    outer.onmessage?.(event);
  };
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

export function createTransportChoice(deps: TransportChoiceDeps): SocketFactory {
  const { clock, log, options } = deps;
  const records = new Map<string, ServerRecord>(deps.initial);
  const checking = new Set<string>();

  const record = (url: string): ServerRecord => records.get(url) ?? FRESH_RECORD;
  function note(url: string, outcome: Outcome): void {
    const before = record(url);
    const after = afterOutcome(before, outcome);
    records.set(url, after);
    if (after.mode !== before.mode) log.info(`transport ${before.mode} → ${after.mode}`, { url, outcome: outcome.k });
    // Failure counts are not kept: a restart may well find the upgrade working again.
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
      message() {},
      close() {
        if (!opened) note(url, probe ? { k: 'probe failed', at: clock.now() } : { k: 'ws failed' });
      },
    });
  }

  /**
   * Tries a WebSocket beside the open HTTP `socket` every probe interval, and on long polling a
   * stream after a WebSocket that failed; steps up when one works.
   */
  function probeBeside(url: string, socket: SocketLike, transport: 'streaming' | 'long polling'): () => void {
    let timer: unknown = null;
    let side: SocketLike | null = null;
    /** The stream probe's wait for its first bytes. */
    let silence: unknown = null;
    const schedule = (): void => {
      timer = clock.setTimeout(tryOnce, options.probeIntervalMs);
    };
    const stepUp = (to: string): void => socket.close(CloseCode.serviceRestart, `stepping up to ${to}`);
    /** A session read as a stream: heard → streaming; silent or failed → try again later. */
    const tryStream = (): void => {
      let heard = false;
      const probe = openHttpSocket(url, {
        fetch: deps.fetch,
        transport: 'streaming',
        deliveryHook: () => {
          if (heard) return;
          heard = true;
          probe.close(CloseCode.normal, 'probe');
        },
      });
      side = probe;
      probe.onopen = () => {
        silence = clock.setTimeout(() => probe.close(CloseCode.normal, 'probe'), options.streamSilenceMs);
      };
      probe.onclose = () => {
        clock.clearTimeout(silence);
        side = null;
        if (!heard) return schedule();
        note(url, { k: 'stream heard' });
        stepUp('streaming');
      };
    };
    const tryOnce = (): void => {
      let probe: SocketLike;
      try {
        probe = deps.openWebSocket(url);
      } catch {
        return schedule();
      }
      side = probe;
      let opened = false;
      probe.onopen = () => {
        opened = true;
        probe.close(CloseCode.normal, 'probe');
        note(url, { k: 'probe opened' });
        stepUp('WebSocket');
      };
      probe.onerror = () => {};
      probe.onclose = () => {
        side = null;
        if (opened) return;
        note(url, { k: 'probe failed', at: clock.now() });
        if (transport === 'long polling') tryStream();
        else schedule();
      };
    };
    schedule();
    return () => {
      clock.clearTimeout(timer);
      clock.clearTimeout(silence);
      if (side) {
        side.onclose = null;
        side.close(CloseCode.normal, 'probe');
      }
    };
  }

  function openHttp(url: string, transport: 'streaming' | 'long polling'): SocketLike {
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
        if (!options.only) stopProbing = probeBeside(url, outer, transport);
        // A buffering proxy holds the stream's first bytes (even `welcome`) until the response ends.
        if (transport === 'streaming') {
          silence = clock.setTimeout(() => {
            if (!delivered) outer.close(CloseCode.abnormal, 'the stream delivered nothing');
          }, options.streamSilenceMs);
        }
      },
      message() {},
      close() {
        clock.clearTimeout(silence);
        stopProbing();
        // Only a session that opened: a server that cannot be reached says nothing about buffering.
        if (transport === 'streaming' && opened && !delivered) note(url, { k: 'stream silent' });
      },
    });
    return outer;
  }

  return (url) => {
    const { transport, probe } = nextTransport(record(url), clock.now(), options);
    if (transport === 'websocket') return openWebSocket(url, probe);
    return openHttp(url, transport);
  };
}
