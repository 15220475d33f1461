/**
 * What a test client does with the server frames it receives, whatever carried them: keeps them
 * in order, answers `ping` with `pong`, and lets a test await the next frame matching a predicate.
 * Nothing here sleeps: every wait resolves on a frame and rejects at once if the transport fails
 * first, naming what did arrive. The WebSocket (`ws-client.ts`) and HTTP (`http-client.ts`) test
 * clients are both built on it, so the contract suite (`transport-contract.ts`) runs over any of
 * them.
 */
import { newMessageId } from '../../lib/wire/ids';
import { PROTOCOL_VERSION, type ClientFrame, type EventFrame, type FrameOf, type ServerFrame, type StreamPosition } from '../../lib/wire/protocol';
import { TEST_DEV_TOKEN } from './server';

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

type ServerFrameType = ServerFrame['t'];

/** A protocol client over some transport, as the transport-independent contract suite uses it. */
export interface ContractClient {
  /** Every frame received so far, in order, consumed or not. */
  readonly received: readonly ServerFrame[];
  /** Encodes and sends a protocol frame. */
  send(frame: ClientFrame): void;
  /** Resolves with the first unconsumed frame matching `predicate` (now or later) and consumes it. */
  next(predicate?: (frame: ServerFrame) => boolean): Promise<ServerFrame>;
  /** `next` for one frame type, typed. */
  nextOf<T extends ServerFrameType>(type: T, predicate?: (frame: FrameOf<ServerFrame, T>) => boolean): Promise<FrameOf<ServerFrame, T>>;
  /** Resolves with the first frame received so far or later that matches, without consuming it. */
  until(predicate: (frame: ServerFrame) => boolean): Promise<ServerFrame>;
  /** Every stream `event` received so far (batches unpacked), in arrival order; of one topic if given. */
  events(topic?: string): EventFrame[];
  /** Resolves once an event of `topic` with `seq` (and `epoch`, if given) has arrived. */
  untilEvent(topic: string, seq: number, epoch?: string): Promise<EventFrame>;
  /**
   * Sends `subscribe` and resolves with the answer for that topic: `subscribed`, or the `error`
   * naming it (the answer is consumed; the events that follow stay in `received`).
   */
  subscribe(topic: string, options?: { readonly since?: StreamPosition; readonly last?: number }): Promise<FrameOf<ServerFrame, 'subscribed' | 'error'>>;
  /**
   * Sends a client message `send {id, kind, body}` (`id` default a fresh UUID) and resolves with the
   * `ack` for that id (consumed).
   */
  message(kind: string, body: unknown, id?: string): Promise<FrameOf<ServerFrame, 'ack'>>;
  /** Sends `hello` (default: current version, `TEST_DEV_TOKEN`) and resolves with the `welcome`. */
  hello(options?: { readonly v?: number; readonly token?: string }): Promise<FrameOf<ServerFrame, 'welcome'>>;
  /** Settles once the transport has closed, with the code and reason the server gave. */
  readonly closed: Promise<CloseInfo>;
  /** Ends the connection from the client side and waits for it to be closed. */
  close(): Promise<CloseInfo>;
}

/** The stream events a frame carries: itself, or a batch's. */
export function eventsIn(frame: ServerFrame): EventFrame[] {
  if (frame.t === 'event') return [frame];
  if (frame.t === 'batch') return frame.frames.filter((f): f is EventFrame => f.t === 'event');
  return [];
}

interface Waiter {
  readonly predicate: (frame: ServerFrame) => boolean;
  readonly resolve: (frame: ServerFrame) => void;
  readonly reject: (error: Error) => void;
}

export type FrameInbox = Omit<ContractClient, 'closed' | 'close'> & {
  /** A frame arrived. */
  push(frame: ServerFrame): void;
  /** The transport failed or closed: every wait, now or later, rejects with `error`. */
  fail(error: Error): void;
  /** The frames received so far, by type, for error messages. */
  summary(): string;
};

/** `send` writes a frame to the transport; `ping`s are answered through it unless `autoPong` is false (a silent client). */
export function createFrameInbox(send: (frame: ClientFrame) => void, { autoPong = true }: { readonly autoPong?: boolean } = {}): FrameInbox {
  const received: ServerFrame[] = [];
  const unread: ServerFrame[] = [];
  let waiters: Waiter[] = [];
  let observers: Waiter[] = [];
  let failure: Error | undefined;

  const inbox: FrameInbox = {
    received,
    send,
    summary: () => received.map((f) => (f.t === 'error' ? `error(${f.code})` : f.t)).join(', ') || 'nothing',
    fail(error) {
      failure ??= error;
      for (const waiter of [...waiters, ...observers]) waiter.reject(failure);
      waiters = [];
      observers = [];
    },
    push(frame) {
      received.push(frame);
      if (frame.t === 'ping' && autoPong) send({ t: 'pong', at: frame.at });
      observers = observers.filter((observer) => {
        if (!observer.predicate(frame)) return true;
        observer.resolve(frame);
        return false;
      });
      const index = waiters.findIndex((w) => w.predicate(frame));
      if (index < 0) return void unread.push(frame);
      const [waiter] = waiters.splice(index, 1);
      waiter!.resolve(frame);
    },
    next(predicate = () => true) {
      const index = unread.findIndex(predicate);
      if (index >= 0) return Promise.resolve(unread.splice(index, 1)[0]!);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => waiters.push({ predicate, resolve, reject }));
    },
    nextOf<T extends ServerFrameType>(type: T, predicate: (frame: FrameOf<ServerFrame, T>) => boolean = () => true) {
      return inbox.next((f) => f.t === type && predicate(f as FrameOf<ServerFrame, T>)) as Promise<FrameOf<ServerFrame, T>>;
    },
    until(predicate) {
      const seen = received.find(predicate);
      if (seen) return Promise.resolve(seen);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => observers.push({ predicate, resolve, reject }));
    },
    events(topic) {
      const all = received.flatMap(eventsIn);
      return topic === undefined ? all : all.filter((e) => e.topic === topic);
    },
    async untilEvent(topic, seq, epoch) {
      const matches = (e: EventFrame) => e.topic === topic && e.seq === seq && (epoch === undefined || e.epoch === epoch);
      const frame = await inbox.until((f) => eventsIn(f).some(matches));
      return eventsIn(frame).find(matches)!;
    },
    subscribe(topic, { since, last } = {}) {
      send({ t: 'subscribe', topic, ...(since ? { since } : {}), ...(last === undefined ? {} : { last }) });
      return inbox.next((f) => (f.t === 'subscribed' || f.t === 'error') && f.topic === topic) as Promise<FrameOf<ServerFrame, 'subscribed' | 'error'>>;
    },
    message(kind, body, id = newMessageId()) {
      send({ t: 'send', id, kind, body });
      return inbox.nextOf('ack', (f) => f.id === id);
    },
    async hello({ v = PROTOCOL_VERSION, token = TEST_DEV_TOKEN } = {}) {
      send({ t: 'hello', v, token, client: 'test' });
      const frame = await inbox.next((f) => f.t === 'welcome' || f.t === 'error');
      if (frame.t !== 'welcome') throw new Error(`Expected welcome, got ${JSON.stringify(frame)}`);
      return frame;
    },
  };
  return inbox;
}

/** The inbox as a client sees it: without the transport's side (`push`, `fail`, `summary`). */
export function clientSide(inbox: FrameInbox): Omit<ContractClient, 'closed' | 'close'> {
  const { push: _push, fail: _fail, summary: _summary, ...client } = inbox;
  return client;
}
