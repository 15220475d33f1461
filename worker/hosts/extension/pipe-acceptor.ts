/**
 * The background side of the pipes that carry `Comlink.proxy` callbacks between views and the
 * background (see `lib/rpc/runtime-port-endpoint.ts`). A view connects a pipe port and sends the
 * marker naming it over its main port; the two may reach the background in either order, and the
 * acceptor pairs them. A pipe or marker left alone past the claim timeout is given up.
 */
import { PIPE_PREFIX, type PipeSource, type RuntimePortLike } from '../../../lib/rpc/runtime-port-endpoint';

export interface PipeAcceptorOptions {
  /** How long a pipe and the marker naming it may wait for each other, in ms. Default 30 000. */
  readonly claimTimeoutMs: number;
}

/** Matches pipe ports views connect with the markers that name them, in either order. */
export interface PipeAcceptor {
  /** Takes a port from `runtime.onConnect` if it is a pipe (returns true); leaves other ports alone. */
  accept(port: RuntimePortLike): boolean;
  /** The pipe source for the background's endpoints. */
  readonly pipes: PipeSource;
}

/**
 * Keeps a port's messages until the first listener is attached: Chrome drops messages that arrive
 * while a port has no listener, and an accepted pipe may wait a moment for its marker.
 */
function holdMessages(port: RuntimePortLike): RuntimePortLike {
  const early: unknown[] = [];
  const listeners = new Set<(message: unknown) => void>();
  const disconnectListeners: Array<() => void> = [];
  let disconnected = false;
  port.onMessage.addListener((message) => {
    if (listeners.size === 0) early.push(message);
    else for (const listener of [...listeners]) listener(message);
  });
  port.onDisconnect.addListener(() => {
    disconnected = true;
    for (const listener of disconnectListeners.splice(0)) listener();
  });
  return {
    name: port.name,
    postMessage: (message) => port.postMessage(message),
    disconnect: () => port.disconnect(),
    onMessage: {
      addListener(listener) {
        listeners.add(listener);
        for (const message of early.splice(0)) listener(message);
      },
      removeListener: (listener) => listeners.delete(listener),
    },
    onDisconnect: {
      addListener(listener) {
        if (disconnected) queueMicrotask(listener);
        else disconnectListeners.push(listener);
      },
    },
  };
}

/** The background side's pipe source: pipes arrive through `runtime.onConnect`. */
export function createPipeAcceptor(options: Readonly<Partial<PipeAcceptorOptions>> = {}): PipeAcceptor {
  const claimTimeoutMs = options.claimTimeoutMs ?? 30_000;
  const arrived = new Map<string, { port: RuntimePortLike; timer: ReturnType<typeof setTimeout> }>();
  const claims = new Map<string, { use: (pipe: RuntimePortLike | null) => void; timer: ReturnType<typeof setTimeout> }>();

  return {
    accept(port) {
      if (!port.name.startsWith(PIPE_PREFIX)) return false;
      const claim = claims.get(port.name);
      if (claim) {
        claims.delete(port.name);
        clearTimeout(claim.timer);
        claim.use(port);
        return true;
      }
      if (arrived.has(port.name)) {
        port.disconnect();
        return true;
      }
      const held = holdMessages(port);
      const timer = setTimeout(() => {
        arrived.delete(port.name);
        port.disconnect();
      }, claimTimeoutMs);
      arrived.set(port.name, { port: held, timer });
      return true;
    },
    pipes(name, use) {
      const pipe = arrived.get(name);
      if (pipe) {
        arrived.delete(name);
        clearTimeout(pipe.timer);
        use(pipe.port);
        return () => {};
      }
      const timer = setTimeout(() => {
        claims.delete(name);
        use(null);
      }, claimTimeoutMs);
      claims.set(name, { use, timer });
      return () => {
        if (claims.get(name)?.use !== use) return;
        claims.delete(name);
        clearTimeout(timer);
      };
    },
  };
}
