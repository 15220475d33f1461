/**
 * Everything one client sends goes through here: single frames, price states (conflated
 * upstream, split into size-limited batches here) and stream events. Stream events are never
 * dropped or merged: they go out in order as `event` frames or byte-limited `batch` frames, and the
 * caller learns when the socket has written them, which is how replay waits out backpressure.
 *
 * It also bounds what one client can make the server hold: whatever the frames are (snapshots,
 * replays, acks, errors), once the bytes queued and not yet written (`ws` `bufferedAmount`: the
 * socket's buffer and `ws`'s own queue) exceed `maxBacklogBytes`, nothing more is written and the
 * client is handed to `onBacklog` (closed with 1013). The frames that build a backlog are each
 * bounded, so the buffer never holds much more than the limit.
 */
import { WebSocket } from 'ws';
import type { Codec } from '../../lib/wire/codec';
import type { EventFrame, FrameOf, ServerFrame, StateFrame } from '../../lib/wire/protocol';
import { clip } from '../common/untrusted';
import type { StoredEvent } from '../event-log/types';
import type { Metrics } from '../metrics';

/** Largest number of frames in one `batch` (the codec's default `maxArrayLength`). */
export const MAX_BATCH_FRAMES = 4096;

export interface Outbound {
  /** The socket is open and not over its backlog limit: frames sent now are written. */
  isOpen(): boolean;
  send(frame: ServerFrame): void;
  /** One `state`, or `batch` frames that each stay within the frame size limit. */
  sendStates(frames: readonly StateFrame[]): void;
  /**
   * Sends the events in order, packed into as few frames as the size limit allows. Resolves once
   * the socket has written the last of them (or failed: the close handler deals with that).
   */
  sendEvents(events: readonly StoredEvent[]): Promise<void>;
  /** Bytes queued in the socket and not yet written. */
  bufferedAmount(): number;
}

export interface OutboundDeps {
  readonly ws: WebSocket;
  readonly codec: Codec;
  readonly metrics: Pick<Metrics, 'framesSent'>;
  /** Largest frame to send as a batch; a single event bigger than this still goes out alone. */
  readonly maxFrameBytes: number;
  /** Over this many bytes queued and not yet written, nothing more is written and `onBacklog` is called. */
  readonly maxBacklogBytes: number;
  /**
   * Called once, on a microtask (so the handler that wrote finishes its bookkeeping before the
   * client is torn down), with the backlog that went over the limit.
   */
  readonly onBacklog: (bytes: number) => void;
}

export const eventFrame = (event: StoredEvent): EventFrame => ({
  t: 'event',
  topic: event.topic,
  epoch: event.epoch,
  seq: event.seq,
  data: event.data,
  at: event.at,
});

/** Longest message an `error` frame carries. */
const MAX_ERROR_CHARS = 500;

/** An `error` frame, its message cut to a bounded length (it may quote what the client sent). */
export const errorFrame = (code: FrameOf<ServerFrame, 'error'>['code'], message: string): FrameOf<ServerFrame, 'error'> => ({
  t: 'error',
  code,
  message: clip(message, MAX_ERROR_CHARS),
});

/** msgpack array header for `n` items (fixarray, array 16, array 32). */
function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

export function createOutbound(deps: OutboundDeps): Outbound {
  const { ws, codec, metrics, maxFrameBytes, maxBacklogBytes } = deps;
  // A batch is `{t: 'batch', frames: [...]}`: its bytes are this prefix, the array header and the
  // frames' own encodings, so each event is encoded once, and sized exactly, before packing.
  const emptyBatch = codec.encode({ t: 'batch', frames: [] });
  if (emptyBatch.at(-1) !== 0x90) throw new Error('Unexpected batch encoding');
  const batchPrefix = emptyBatch.subarray(0, -1);
  const batchOverhead = batchPrefix.byteLength + 3;

  let overLimit = false;
  const isOpen = () => !overLimit && ws.readyState === WebSocket.OPEN;

  function write(bytes: Uint8Array, type: string, done?: () => void): void {
    ws.send(bytes, { binary: true }, done && (() => done()));
    metrics.framesSent(type);
    const backlog = ws.bufferedAmount;
    if (backlog > maxBacklogBytes && !overLimit) {
      overLimit = true;
      queueMicrotask(() => deps.onBacklog(backlog));
    }
  }

  function send(frame: ServerFrame): void {
    if (!isOpen()) return;
    write(codec.encode(frame), frame.t);
  }

  function sendStates(frames: readonly StateFrame[]): void {
    if (!isOpen() || frames.length === 0) return;
    if (frames.length === 1) return send(frames[0]!);
    const bytes = frames.length <= MAX_BATCH_FRAMES ? codec.encode({ t: 'batch', frames: [...frames] }) : undefined;
    if (bytes && bytes.byteLength <= maxFrameBytes) return write(bytes, 'batch');
    const half = Math.ceil(frames.length / 2);
    sendStates(frames.slice(0, half));
    sendStates(frames.slice(half));
  }

  function writeGroup(parts: readonly Uint8Array[], done?: () => void): void {
    if (parts.length === 1) return write(parts[0]!, 'event', done);
    const header = arrayHeader(parts.length);
    const size = batchPrefix.byteLength + header.byteLength + parts.reduce((n, p) => n + p.byteLength, 0);
    const bytes = new Uint8Array(size);
    bytes.set(batchPrefix, 0);
    bytes.set(header, batchPrefix.byteLength);
    let at = batchPrefix.byteLength + header.byteLength;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.byteLength;
    }
    write(bytes, 'batch', done);
  }

  function sendEvents(events: readonly StoredEvent[]): Promise<void> {
    if (!isOpen() || events.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let group: Uint8Array[] = [];
      let groupBytes = batchOverhead;
      for (const event of events) {
        const part = codec.encode(eventFrame(event));
        if (group.length > 0 && (groupBytes + part.byteLength > maxFrameBytes || group.length === MAX_BATCH_FRAMES)) {
          writeGroup(group);
          // Over the backlog limit: the client is being closed, the rest would only pile up.
          if (!isOpen()) return resolve();
          group = [];
          groupBytes = batchOverhead;
        }
        group.push(part);
        groupBytes += part.byteLength;
      }
      // Socket writes complete in order, so the last frame's callback means all of them are out.
      writeGroup(group, resolve);
    });
  }

  return { isOpen, send, sendStates, sendEvents, bufferedAmount: () => ws.bufferedAmount };
}
