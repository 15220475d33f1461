/**
 * A Comlink `Endpoint` over one extension `runtime.Port`, so views and the background speak the
 * same typed RPC as a worker would. It adds what extension messaging lacks:
 *
 * - `Comlink.proxy` callbacks. A `runtime.Port` cannot carry a `MessagePort`, so each transferred
 *   port is replaced in the message by a marker `{ $pipe: name }` and its traffic is piped over a
 *   new `runtime.Port` of that name. Only views can open ports to the background, so the view side
 *   connects pipes (`connectingPipes`) and the background accepts them (`worker/hosts/extension/pipe-acceptor.ts`);
 *   whichever side sends or receives a marker, the view connects and the background waits for it.
 *   The receiving side turns the marker back into a local `MessageChannel` port.
 * - Rejection. Comlink never rejects a call whose other side went away; here every pending request
 *   gets a synthesised `HubDisconnectedError` answer when its port drops or (optionally) times out,
 *   and calls made after that are answered the same way at once.
 * - Either serialisation. Chrome serialises extension messages as JSON unless the manifest says
 *   `"message_serialization": "structured_clone"` (Chrome 148+; Chromium 156 here honours it, see
 *   `wxt.config.ts`); Firefox always structured-clones. Both carry Comlink's plain messages and the
 *   markers; neither carries a `MessagePort` (structured clone refuses one, JSON turns it into `{}`),
 *   hence the pipes. With structured clone a `Date`, `Map` or `undefined` arrives as itself; the
 *   hub's API sticks to plain data so the JSON fallback reads the same. A message the port cannot
 *   serialise (a function or `MessagePort` under structured clone, a `BigInt` or a cycle under JSON)
 *   makes `postMessage` throw without closing the port: a request is then answered here with a
 *   `SerialisationError`, an answer is replaced by one, so the call rejects with the reason instead
 *   of hanging, and the link stays up.
 *
 * No `browser.*` here: ports are structural, so tests run two in-memory port pairs.
 */
import type { Endpoint } from 'comlink';
import { answerId, createPendingCalls, errorAnswer, requestId, thrownAnswer } from './comlink-calls';

/** The part of `runtime.Port` this module uses; Chrome's, Firefox's and test fakes all fit. */
export interface RuntimePortLike {
  readonly name: string;
  postMessage(message: unknown): void;
  disconnect(): void;
  readonly onMessage: {
    addListener(callback: (message: unknown) => void): void;
    removeListener(callback: (message: unknown) => void): void;
  };
  readonly onDisconnect: { addListener(callback: () => void): void };
}

/**
 * Hands over the pipe port of a name, now or once it arrives, or `null` if it never comes.
 * Returns a function that gives up waiting.
 */
export type PipeSource = (name: string, use: (pipe: RuntimePortLike | null) => void) => () => void;

/** Names of pipe ports start with this; the background routes such `onConnect` ports to its pipe acceptor. */
export const PIPE_PREFIX = 'switchboard-pipe:';

export interface PortEndpointOptions {
  /** Where pipe ports for proxied callbacks come from: `connectingPipes` in views, the pipe acceptor in the background. */
  readonly pipes: PipeSource;
  /** Rejects a call that has had no answer after this many ms. Default: no timeout. */
  readonly timeoutMs?: number;
}

/** A Comlink endpoint that can be closed and says when its port went away. */
export interface PortEndpoint extends Endpoint {
  readonly closed: boolean;
  /** Calls back once when the port disconnects or `close()` is called (at once if already closed). */
  onClose(callback: (reason: string) => void): void;
  /** Disconnects the port and its pipes and rejects pending calls. */
  close(): void;
}

/** The view side's pipe source: it opens the pipe itself. */
export function connectingPipes(connect: (name: string) => RuntimePortLike): PipeSource {
  return (name, use) => {
    use(connect(name));
    return () => {};
  };
}

// ---- wire helpers --------------------------------------------------------------------------------

type Message = Record<string, unknown>;
interface PipeMarker {
  readonly $pipe: string;
}

const isRecord = (value: unknown): value is Message => typeof value === 'object' && value !== null;
const isMarker = (value: unknown): value is PipeMarker =>
  isRecord(value) && typeof value.$pipe === 'string' && value.$pipe.startsWith(PIPE_PREFIX);

/**
 * Copies a Comlink message with `swap` applied where Comlink puts transferable values: the
 * message's own `value` (answers), the wire value in `value` (SET) and each `argumentList` entry.
 */
function swapValues(message: unknown, swap: (value: unknown) => unknown): unknown {
  if (!isRecord(message)) return message;
  const swapIn = (wire: unknown): unknown => {
    if (!isRecord(wire) || !('value' in wire)) return wire;
    const value = swap(wire.value);
    return value === wire.value ? wire : { ...wire, value };
  };
  let out = swapIn(message) as Message;
  if (out === message && isRecord(message.value)) {
    const inner = swapIn(message.value);
    if (inner !== message.value) out = { ...message, value: inner };
  }
  if (Array.isArray(out.argumentList)) {
    const args = out.argumentList.map(swapIn);
    if (args.some((arg, i) => arg !== (out.argumentList as unknown[])[i])) out = { ...out, argumentList: args };
  }
  return out;
}

// ---- links ---------------------------------------------------------------------------------------

interface LinkOptions {
  readonly pipes: PipeSource;
  readonly timeoutMs?: number;
  /** Close the link once a Comlink RELEASE has been answered (pipes: the proxy is gone). */
  readonly closeOnRelease: boolean;
  readonly onClose: (reason: string) => void;
}

interface Link {
  readonly closed: boolean;
  send(message: unknown): void;
  close(reason: string): void;
}

/**
 * One runtime.Port carrying Comlink messages to and from `deliver`. It owns the port's pending
 * requests and the pipes opened for ports inside its messages; once closed it answers every
 * request with an error instead of sending it.
 */
function openLink(
  port: RuntimePortLike | null,
  deliver: (message: unknown, ports: MessagePort[]) => void,
  options: LinkOptions,
): Link {
  const releases = new Set<string>();
  const pipes = new Set<() => void>();
  let closed = port === null;
  let closeReason = 'pipe never arrived';

  const answerWithError = (id: string, reason: string): void => deliver(thrownAnswer(id, reason), []);
  const pending = createPendingCalls(answerWithError, options.timeoutMs);

  function shutdown(reason: string, disconnect: boolean): void {
    if (closed) return;
    closed = true;
    closeReason = reason;
    if (port) port.onMessage.removeListener(onMessage);
    pending.rejectAll(reason);
    for (const closePipe of pipes) closePipe();
    pipes.clear();
    if (disconnect && port) port.disconnect();
    options.onClose(reason);
  }

  /** Replaces transferred ports by markers and pipes each one; `opened` gets the pipes' closers. */
  function encode(message: unknown, opened: Array<() => void>): unknown {
    return swapValues(message, (value) => {
      if (!(value instanceof MessagePort)) return value;
      const name = `${PIPE_PREFIX}${crypto.randomUUID()}`;
      const closePipe = bridge(value, name, options.pipes);
      pipes.add(closePipe);
      opened.push(closePipe);
      return { $pipe: name } satisfies PipeMarker;
    });
  }

  /**
   * `message` could not be serialised (`reason`): a request of ours is answered here, an answer of
   * ours is replaced by an error answer, so the call on either side rejects instead of hanging.
   */
  function unsendable(message: unknown, reason: string): void {
    const request = requestId(message);
    if (request !== null) {
      pending.settle(request);
      releases.delete(request);
      setTimeout(() => deliver(errorAnswer(request, 'SerialisationError', `the call could not be sent: ${reason}`), []), 0);
      return;
    }
    const answer = answerId(message);
    if (answer === null || !port) return;
    try {
      port.postMessage(errorAnswer(answer, 'SerialisationError', `the answer could not be sent: ${reason}`));
    } catch (error) {
      shutdown(error instanceof Error ? error.message : 'port closed', false);
    }
  }

  /** Turns markers back into local ports whose other end is piped. */
  function decode(message: unknown): { message: unknown; ports: MessagePort[] } {
    const ports: MessagePort[] = [];
    const decoded = swapValues(message, (value) => {
      if (!isMarker(value)) return value;
      const channel = new MessageChannel();
      pipes.add(bridge(channel.port1, value.$pipe, options.pipes));
      ports.push(channel.port2);
      return channel.port2;
    });
    return { message: decoded, ports };
  }

  function onMessage(raw: unknown): void {
    if (closed) return;
    const { message, ports } = decode(raw);
    const id = answerId(message);
    if (id !== null) pending.settle(id);
    deliver(message, ports);
    const request = requestId(message);
    if (request !== null && isRecord(message) && message.type === 'RELEASE') releases.add(request);
    if (id !== null && releases.delete(id) && options.closeOnRelease) shutdown('proxy released', true);
  }

  if (port) {
    port.onMessage.addListener(onMessage);
    port.onDisconnect.addListener(() => shutdown('the hub connection was lost', false));
  }

  return {
    get closed() {
      return closed;
    },
    send(message) {
      const id = requestId(message);
      if (closed || !port) {
        // Answer on a later task, as a real answer would come, so Comlink has registered the call.
        if (id !== null) setTimeout(() => answerWithError(id, closeReason), 0);
        return;
      }
      if (id !== null) {
        pending.track(id);
        if (isRecord(message) && message.type === 'RELEASE') releases.add(id);
      }
      const opened: Array<() => void> = [];
      try {
        port.postMessage(encode(message, opened));
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        // Chrome and Firefox throw on a port that disconnected before its onDisconnect ran.
        if (/disconnected/i.test(reason)) {
          shutdown(reason, false);
          return;
        }
        for (const closePipe of opened) {
          closePipe();
          pipes.delete(closePipe);
        }
        unsendable(message, reason);
        return;
      }
      const answered = answerId(message);
      if (answered !== null && releases.delete(answered) && options.closeOnRelease) shutdown('proxy released', true);
    },
    close(reason) {
      shutdown(reason, true);
    },
  };
}

/**
 * Pipes a local `MessagePort` over the runtime.Port of `name`. Returns its closer. After the pipe
 * drops, requests coming from the local side are answered with errors, so nothing hangs.
 */
function bridge(local: MessagePort, name: string, pipes: PipeSource): () => void {
  let link: Link | null = null;
  let gone = false;
  const cancel = pipes(name, (pipe) => {
    if (gone) {
      pipe?.disconnect();
      return;
    }
    const opened = openLink(pipe, (message, ports) => local.postMessage(message, ports), {
      pipes,
      closeOnRelease: true,
      onClose: () => {},
    });
    link = opened;
    local.onmessage = (event: MessageEvent<unknown>) => {
      opened.send(event.data);
      // A released proxy on a dead pipe still gets its answer above; then the port can go.
      if (opened.closed && isRecord(event.data) && event.data.type === 'RELEASE') setTimeout(() => local.close(), 0);
    };
  });
  return () => {
    gone = true;
    cancel();
    link?.close('the hub connection was lost');
  };
}

// ---- the endpoint --------------------------------------------------------------------------------

type MessageListener = EventListenerOrEventListenerObject;

/**
 * A Comlink endpoint over `port`. Messages that arrive before Comlink attaches its listener are
 * kept and delivered then, so a host may `expose` after async setup.
 */
export function createPortEndpoint(port: RuntimePortLike, options: PortEndpointOptions): PortEndpoint {
  const listeners = new Set<MessageListener>();
  const early: MessageEvent[] = [];
  const closeCallbacks: Array<(reason: string) => void> = [];
  let closedWith: string | null = null;

  function dispatch(event: MessageEvent): void {
    for (const listener of [...listeners]) {
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    }
  }

  const link = openLink(
    port,
    (data, ports) => {
      const event = new MessageEvent('message', { data, ports });
      if (listeners.size === 0) early.push(event);
      else dispatch(event);
    },
    {
      pipes: options.pipes,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      closeOnRelease: false,
      onClose: (reason) => {
        closedWith = reason;
        for (const callback of closeCallbacks.splice(0)) callback(reason);
      },
    },
  );

  return {
    get closed() {
      return link.closed;
    },
    postMessage(message: unknown) {
      link.send(message);
    },
    addEventListener(type: string, listener: MessageListener) {
      if (type !== 'message') return;
      listeners.add(listener);
      if (listeners.size === 1 && early.length > 0) {
        // Later, so the caller (Comlink's expose/wrap) finishes setting up first.
        queueMicrotask(() => {
          for (const event of early.splice(0)) dispatch(event);
        });
      }
    },
    removeEventListener(type: string, listener: MessageListener) {
      if (type === 'message') listeners.delete(listener);
    },
    onClose(callback) {
      const reason = closedWith;
      if (reason !== null) queueMicrotask(() => callback(reason));
      else closeCallbacks.push(callback);
    },
    close() {
      link.close('closed');
    },
  };
}
