/**
 * Stepping up while connected over HTTP (issue 13): a WebSocket is opened on the side every
 * `probeIntervalMs`; when it opens it is closed at once (it never says `hello`), and the HTTP
 * socket is closed with 1012 so the connection reconnects, now over WebSocket. On long polling, a
 * WebSocket probe that fails is followed by a stream probe: a session read as a stream, closed as
 * soon as anything arrives on it (the server writes a comment at once) or after `streamSilenceMs`;
 * one that was heard steps up to streaming the same way. What each probe shows goes to the
 * transport plan through `note` (`./transport-choice.ts`).
 */
import type { HttpTransportName } from '../../../lib/rpc/hub-api';
import { CloseCode } from '../../../lib/wire/close-codes';
import type { Clock, SocketFactory, SocketLike } from '../platform';
import { openHttpSocket } from './http-socket';
import type { FetchLike } from './http-wire';
import type { Outcome, TransportPlanOptions } from './transport-plan';

export interface StepUpDeps {
  readonly openWebSocket: SocketFactory;
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly options: TransportPlanOptions;
  /** Hands what a probe showed to the plan (for this server). */
  note(outcome: Outcome): void;
}

/**
 * Tries a WebSocket beside the open HTTP `socket` every probe interval, and on long polling a
 * stream after a WebSocket that failed; steps up when one works. Returns the stop.
 */
export function probeBeside(url: string, socket: SocketLike, transport: HttpTransportName, deps: StepUpDeps): () => void {
  const { clock, options, note } = deps;
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
      note({ k: 'stream heard' });
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
      note({ k: 'probe opened' });
      stepUp('WebSocket');
    };
    probe.onerror = () => {};
    probe.onclose = () => {
      side = null;
      if (opened) return;
      note({ k: 'probe failed', at: clock.now() });
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
