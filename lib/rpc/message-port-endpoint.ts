/**
 * A Comlink endpoint over a native `MessagePort` (a SharedWorker's or a channel to a dedicated
 * Worker) that adds what Comlink lacks: a call with no answer after `timeoutMs` rejects, `close()`
 * rejects every pending call, and calls made after that reject at once, each with a synthesised
 * `HubDisconnectedError` answer. Comlink proxies need nothing extra here: a `MessagePort` carries
 * the ports `Comlink.proxy` transfers. Closing says `bye` first, so the hub ends this port's
 * session at once instead of when the tab goes.
 */
import { answerId, createPendingCalls, requestId, thrownAnswer } from './comlink-calls';
import { parseHubWorkerMessage, type HubWorkerMessage } from './hub-worker-messages';
import type { PortEndpoint } from './runtime-port-endpoint';

export interface MessagePortEndpointOptions {
  /** Rejects a call that has had no answer after this many ms. Default: no timeout. */
  readonly timeoutMs?: number;
  /** The hub's own control messages (not Comlink's), e.g. `overlay`. */
  readonly onControl?: (message: HubWorkerMessage) => void;
}

type Listener = EventListenerOrEventListenerObject;

export function createMessagePortEndpoint(port: MessagePort, options: MessagePortEndpointOptions = {}): PortEndpoint {
  const listeners = new Set<Listener>();
  const closeCallbacks: Array<(reason: string) => void> = [];
  let closedWith: string | null = null;

  function dispatch(data: unknown, ports: readonly MessagePort[] = []): void {
    const event = new MessageEvent('message', { data, ports: [...ports] });
    for (const listener of [...listeners]) {
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    }
  }

  function answerWithError(id: string, reason: string): void {
    dispatch(thrownAnswer(id, reason));
  }
  const pending = createPendingCalls(answerWithError, options.timeoutMs);

  function onMessage(event: MessageEvent<unknown>): void {
    const control = parseHubWorkerMessage(event.data);
    if (control) {
      options.onControl?.(control);
      return;
    }
    const answered = answerId(event.data);
    if (answered !== null) pending.settle(answered);
    dispatch(event.data, event.ports);
  }

  function shutdown(reason: string): void {
    if (closedWith !== null) return;
    closedWith = reason;
    port.removeEventListener('message', onMessage);
    try {
      port.postMessage({ type: 'switchboard:bye' } satisfies HubWorkerMessage);
    } catch {
      // Already unusable: the hub will hear of it through the tab's lock.
    }
    port.close();
    pending.rejectAll(reason);
    for (const callback of closeCallbacks.splice(0)) callback(reason);
  }

  port.addEventListener('message', onMessage);
  port.start();

  return {
    get closed() {
      return closedWith !== null;
    },
    postMessage(message: unknown, transfer?: Transferable[]) {
      const request = requestId(message);
      if (closedWith !== null) {
        const reason = closedWith;
        // On a later task, as a real answer would come, so Comlink has registered the call.
        if (request !== null) setTimeout(() => answerWithError(request, reason), 0);
        return;
      }
      if (request !== null) pending.track(request);
      port.postMessage(message, transfer ?? []);
    },
    addEventListener(type: string, listener: Listener) {
      if (type === 'message') listeners.add(listener);
    },
    removeEventListener(type: string, listener: Listener) {
      if (type === 'message') listeners.delete(listener);
    },
    onClose(callback) {
      const reason = closedWith;
      if (reason !== null) queueMicrotask(() => callback(reason));
      else closeCallbacks.push(callback);
    },
    close() {
      shutdown('closed');
    },
  };
}
