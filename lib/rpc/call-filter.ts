/**
 * What a hub host lets through to `Comlink.expose`: calls of the surface's own methods and the
 * release of the view's proxy, nothing else. Comlink's `expose` walks whatever `path` a message
 * names, so without this a `GET` reads any property, and a `SET` on `['__proto__', 'x']` writes
 * `Object.prototype.x` in the hub's realm (every object in the service worker or SharedWorker then
 * has an `x`). `CONSTRUCT` and `ENDPOINT` would build new objects or channels on request.
 *
 * A call is accepted when it is an `APPLY` whose path is one name of the given method table (an
 * own name: `constructor`, `__proto__`, `toString` are not in it), with an argument list of plain
 * values or `Comlink.proxy` ports; a `RELEASE` with an empty path ends the view's proxy as before.
 * Any other request is answered with a `RefusedCall` error, and nothing else reaches Comlink: a
 * refused message changes nothing.
 */
import type { Endpoint } from 'comlink';
import { requestId } from './comlink-calls';

/** Most arguments a hub method takes (`dismissOverlay(id, snoozeMinutes)`), with room to spare. */
const MAX_ARGUMENTS = 4;
/** Comlink's ids are UUIDs; an id longer than this is not echoed back. */
const MAX_ID_LENGTH = 64;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** A Comlink wire value a view may send as an argument: plain data, or a port for `Comlink.proxy`. */
function isAcceptedArgument(wire: unknown): boolean {
  if (!isRecord(wire)) return false;
  if (wire.type === 'RAW') return true;
  return wire.type === 'HANDLER' && wire.name === 'proxy' && wire.value instanceof MessagePort;
}

/**
 * Why `message` is refused, or `null` when it is a call of one of `methods` (or a release).
 * Messages without a Comlink request shape (the hub worker's own control messages) are refused too:
 * they are for the host's own listener, not for Comlink.
 */
export function refusalOf(message: unknown, methods: ReadonlySet<string>): string | null {
  if (!isRecord(message)) return 'not a call';
  const { type, path } = message;
  if (type === 'RELEASE') {
    return path === undefined || (Array.isArray(path) && path.length === 0) ? null : 'a release names no path';
  }
  if (type !== 'APPLY') return `${typeof type === 'string' ? type.slice(0, 20) : typeof type} is not a call the hub accepts`;
  if (!Array.isArray(path) || path.length !== 1 || typeof path[0] !== 'string' || !methods.has(path[0])) {
    return 'the hub has no such method';
  }
  const args = message.argumentList ?? [];
  if (!Array.isArray(args) || args.length > MAX_ARGUMENTS || !args.every(isAcceptedArgument)) {
    return `the arguments of ${path[0]} are not plain values`;
  }
  return null;
}

/** Comlink's wire form of a thrown error, so the caller's promise rejects with `RefusedCall`. */
function refusedAnswer(id: string, reason: string): Record<string, unknown> {
  return { id, type: 'HANDLER', name: 'throw', value: { isError: true, value: { name: 'RefusedCall', message: reason } } };
}

type Listener = EventListenerOrEventListenerObject;

/**
 * `endpoint` as `Comlink.expose` should see it: its message listeners get only the accepted calls
 * of `methods`; every other Comlink request is answered with a `RefusedCall` error on `endpoint`
 * itself, and other messages are dropped. `start` is passed through (a `MessagePort` queues messages until it is called).
 */
export function filterCalls(endpoint: Endpoint, methods: readonly string[]): Endpoint {
  const allowed: ReadonlySet<string> = new Set(methods);
  const guards = new Map<Listener, EventListener>();
  const filtered: Endpoint = {
    postMessage: (message: unknown, transfer?: Transferable[]) => endpoint.postMessage(message, transfer),
    addEventListener(type: string, listener: Listener, options?: object) {
      if (type !== 'message' || guards.has(listener)) return;
      const guard = (event: Event): void => {
        const data: unknown = (event as MessageEvent<unknown>).data;
        const refusal = refusalOf(data, allowed);
        if (refusal === null) {
          if (typeof listener === 'function') listener(event);
          else listener.handleEvent(event);
          return;
        }
        // Only requests are answered: an answer to an answer could bounce between two hosts.
        const id = requestId(data);
        if (id !== null && id.length <= MAX_ID_LENGTH) endpoint.postMessage(refusedAnswer(id, `Refused: ${refusal}`));
      };
      guards.set(listener, guard);
      endpoint.addEventListener('message', guard, options);
    },
    removeEventListener(type: string, listener: Listener, options?: object) {
      const guard = guards.get(listener);
      if (type !== 'message' || !guard) return;
      guards.delete(listener);
      endpoint.removeEventListener('message', guard, options);
    },
  };
  if (endpoint.start) filtered.start = () => endpoint.start?.();
  return filtered;
}
