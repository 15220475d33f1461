/**
 * A bare TCP client for tests of what the server does with sockets that do not behave: half-sent
 * requests, bodies that keep coming, peers that hold sockets open. It records what the server
 * sent and settles `closed` when the server ends or cuts the connection. Nothing here sleeps:
 * `within` bounds a wait on an event, so a test against a server that never acts fails in time
 * instead of at the test timeout.
 */
import { connect, type Socket } from 'node:net';

export interface RawSocket {
  readonly socket: Socket;
  /** Everything the server sent so far, as text. */
  received(): string;
  /** Resolves once what the server sent matches `pattern`; rejects if the socket closes first. */
  until(pattern: RegExp): Promise<string>;
  /** Settles when the socket has closed, whichever side closed it. */
  readonly closed: Promise<void>;
}

/** Connects to 127.0.0.1:`port` (from `localAddress` if given) and resolves once connected. */
export function openRaw(port: number, localAddress?: string): Promise<RawSocket> {
  const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
  let text = '';
  let waiters: Array<() => void> = [];
  let ended = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
    for (const wake of waiters) wake();
  });
  // Resets and broken pipes are how a server that refuses a socket shows up; `closed` reports them.
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      for (const wake of waiters) wake();
      resolve();
    }),
  );
  const raw: RawSocket = {
    socket,
    received: () => text,
    closed,
    until(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(text)) {
            waiters = waiters.filter((w) => w !== check);
            resolve(text);
          } else if (ended) {
            waiters = waiters.filter((w) => w !== check);
            reject(new Error(`Socket closed before ${pattern} arrived; received ${JSON.stringify(text.slice(0, 200))}`));
          }
        };
        waiters.push(check);
        check();
      });
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(raw));
    socket.once('error', reject);
  });
}

/** `promise`, or a rejection naming `what` after `ms` of real time: a bound on a wait, not a pause before asserting. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
