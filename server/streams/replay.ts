/**
 * The replay half of a stream subscription: the log after a position, up to the head the
 * subscribe flow read, in chunks of `REPLAY_CHUNK_EVENTS`, each sent before the next is read and
 * the socket given time to drain whenever it holds more than `maxBufferedBytes`. Events past the
 * head are left to live delivery, which holds them meanwhile. Between chunks the replay lets the
 * event loop take other sockets' I/O first (`setImmediate`): reading the log resolves on a
 * microtask, so a long replay would otherwise hold every other client up until it ended. A replay
 * whose subscription was replaced or removed stops at once, also in the middle of waiting for the
 * socket.
 */
import type { StreamPosition } from '../../lib/wire/protocol';
import type { Outbound } from '../clients/outbound';
import type { EventLog, StoredEvent } from '../event-log/types';
import type { Metrics } from '../metrics';

/** Events read from the log per query during a replay. */
export const REPLAY_CHUNK_EVENTS = 1000;

export interface ReplayDeps {
  readonly log: Pick<EventLog, 'readAfter'>;
  readonly out: Pick<Outbound, 'sendEvents' | 'bufferedAmount'>;
  readonly metrics: Pick<Metrics, 'eventsReplayed'>;
  readonly limits: {
    /** Over this many buffered bytes a replay waits for the socket to drain. */
    readonly maxBufferedBytes: number;
    /** Waiting longer than this for the socket to drain makes the client too slow. */
    readonly drainTimeoutMs: number;
  };
}

/** How a replay ended: everything up to the head sent; the log lost events not sent yet; or stopped (gone, or too slow). */
export type ReplayEnd = 'sent' | 'moved-on' | 'stopped';

/** One chunk of `topic`'s events after `after`, none past `head`. */
export async function readChunk(log: Pick<EventLog, 'readAfter'>, topic: string, head: StreamPosition, after: number): Promise<StoredEvent[]> {
  const events = await log.readAfter(topic, { epoch: head.epoch, seq: after }, REPLAY_CHUNK_EVENTS);
  return events.filter((e) => e.seq <= head.seq);
}

/** Waits until `written` (the socket has taken the bytes), `timeoutMs` passed, or `signal` aborted. */
async function drained(written: Promise<void>, timeoutMs: number, signal: AbortSignal): Promise<'drained' | 'timeout' | 'stopped'> {
  if (signal.aborted) return 'stopped';
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const stopped = new Promise<'stopped'>((resolve) => signal.addEventListener('abort', (onAbort = () => resolve('stopped')), { once: true }));
  try {
    return await Promise.race([written.then(() => 'drained' as const), timeout, stopped]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort!);
  }
}

export interface ReplayRun {
  readonly topic: string;
  readonly head: StreamPosition;
  /** The subscription: `lastSent` is the `seq` of the last event sent, moved on as each chunk goes out. */
  readonly sub: { lastSent: number };
  /** False once the subscription was replaced or removed, or the socket closed. */
  readonly current: () => boolean;
  /** The socket did not drain in time (called only while `current()`). */
  readonly onSlow: () => void;
  /** Aborted when the subscription is replaced or removed. */
  readonly signal: AbortSignal;
}

/** Sends `chunk` (the first, already read) and the chunks after it up to the head. */
export async function replay(deps: ReplayDeps, run: ReplayRun, chunk: readonly StoredEvent[]): Promise<ReplayEnd> {
  const { out, limits } = deps;
  const { sub } = run;
  while (chunk.length > 0) {
    const written = out.sendEvents(chunk);
    deps.metrics.eventsReplayed(chunk.length);
    sub.lastSent = chunk.at(-1)!.seq;
    if (out.bufferedAmount() > limits.maxBufferedBytes) {
      const waited = await drained(written, limits.drainTimeoutMs, run.signal);
      if (waited === 'timeout' && run.current()) run.onSlow();
      if (waited !== 'drained') return 'stopped';
    }
    if (!run.current()) return 'stopped';
    if (sub.lastSent >= run.head.seq) return 'sent';
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!run.current()) return 'stopped';
    chunk = await readChunk(deps.log, run.topic, run.head, sub.lastSent);
    if (!run.current()) return 'stopped';
    if (chunk[0]?.seq !== sub.lastSent + 1) return 'moved-on';
  }
  return 'sent';
}
