/**
 * In-memory stand-ins for extension messaging, with the behaviour that matters to the endpoint:
 * delivery on a later task, messages copied as Chrome by default (JSON) or Firefox and Chrome 148+
 * with `"message_serialization": "structured_clone"` (structured clone) copy them, `postMessage`
 * throwing on what that serialisation cannot carry (a `BigInt` or cycle in JSON, a function or
 * `MessagePort` in structured clone; Chrome says `Could not serialize message.`) and on a
 * disconnected port, no delivery to a port without listeners, `onDisconnect` only on the other end,
 * and a service worker that can be stopped and woken by a connect.
 */
import type { RuntimePortLike } from '../../lib/rpc/runtime-port-endpoint';

export type Serialisation = 'json' | 'structured';

export interface FakePort extends RuntimePortLike {
  readonly sender: { readonly id: string };
  readonly disconnected: boolean;
}

function copy(message: unknown, serialisation: Serialisation): unknown {
  // Chrome: JSON.stringify, so `undefined` vanishes and a MessagePort becomes `{}`.
  return serialisation === 'json' ? JSON.parse(JSON.stringify(message) ?? 'null') : structuredClone(message);
}

/** Two connected ends of one port. */
export function createPortPair(name: string, serialisation: Serialisation, senderId = 'test-extension'): [FakePort, FakePort] {
  let disconnected = false;
  const make = (): FakePort & { deliver(message: unknown): void; hangUp(): void; closedHere: boolean } => {
    const messageListeners = new Set<(message: unknown) => void>();
    const disconnectListeners = new Set<() => void>();
    const port = {
      name,
      sender: { id: senderId },
      closedHere: false,
      get disconnected() {
        return disconnected;
      },
      postMessage(message: unknown) {
        if (disconnected) throw new Error('Attempting to use a disconnected port object');
        const copied = copy(message, serialisation);
        setTimeout(() => other(port).deliver(copied), 0);
      },
      disconnect() {
        if (disconnected) return;
        disconnected = true;
        port.closedHere = true;
        setTimeout(() => other(port).hangUp(), 0);
      },
      onMessage: {
        addListener: (listener: (message: unknown) => void) => messageListeners.add(listener),
        removeListener: (listener: (message: unknown) => void) => messageListeners.delete(listener),
      },
      onDisconnect: { addListener: (listener: () => void) => disconnectListeners.add(listener) },
      deliver(message: unknown) {
        if (port.closedHere) return;
        for (const listener of [...messageListeners]) listener(message);
      },
      hangUp() {
        for (const listener of [...disconnectListeners]) listener();
      },
    };
    return port;
  };
  const a = make();
  const b = make();
  const other = (port: unknown) => (port === a ? b : a);
  return [a, b];
}

export interface FakeRuntime {
  /** What a view calls: `browser.runtime.connect({ name })`. */
  connect(name: string): FakePort;
  /** What the background calls: `browser.runtime.onConnect.addListener`. */
  onConnect(listener: (port: FakePort) => void): void;
  /** Chrome stopping the service worker: every port drops and the listeners are gone. */
  stopWorker(): void;
  /** Ports connected so far, view ends, by name. */
  readonly viewPorts: FakePort[];
}

/**
 * A runtime whose background is started by `startWorker` on the first connect after a stop, as
 * Chrome starts a service worker for an event.
 */
export function createFakeRuntime(serialisation: Serialisation, startWorker: (runtime: FakeRuntime) => void): FakeRuntime {
  const listeners = new Set<(port: FakePort) => void>();
  const backgroundPorts = new Set<FakePort>();
  let running = false;
  const runtime: FakeRuntime = {
    viewPorts: [],
    connect(name) {
      if (!running) {
        running = true;
        startWorker(runtime);
      }
      const [view, background] = createPortPair(name, serialisation);
      runtime.viewPorts.push(view);
      backgroundPorts.add(background);
      setTimeout(() => {
        for (const listener of [...listeners]) listener(background);
      }, 0);
      return view;
    },
    onConnect(listener) {
      listeners.add(listener);
    },
    stopWorker() {
      running = false;
      listeners.clear();
      for (const port of backgroundPorts) port.disconnect();
      backgroundPorts.clear();
    },
  };
  return runtime;
}
