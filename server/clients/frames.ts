/**
 * The server's frames as bytes, shared by every connection: frames encoded once and prepared for
 * any number of sockets (`transports/prepared-frame.ts`), the `event` frame of a stored event
 * encoded once for all its subscribers (the stream fan-out hands the same event to each in turn,
 * so remembering the last one is enough), and frames packed into `batch` frames within the frame
 * size limit and the codec's array limit by concatenating their bytes, never encoding again (a
 * replay's events are encoded but never framed one by one, since they go out packed).
 */
import type { Codec } from '../../lib/wire/codec';
import type { EventFrame, ServerFrame } from '../../lib/wire/protocol';
import type { StoredEvent } from '../event-log/types';
import { prepareFrame, type PreparedFrame } from '../transports/prepared-frame';

/** Largest number of frames in one `batch` (the codec's default `maxArrayLength`). */
export const MAX_BATCH_FRAMES = 4096;

export interface ServerFrames {
  /** Encodes `frame` once for every socket. */
  prepare(frame: ServerFrame): PreparedFrame;
  /** The `event` frame of `event`; asked again for the same event object, the same bytes. */
  event(event: StoredEvent): PreparedFrame;
  /**
   * Packs `parts` (each a `state` or `event` frame), in order, into as few frames as the size
   * limit allows: a part alone stays as it is (also one bigger than the limit), several become a
   * `batch`.
   */
  pack(parts: readonly PreparedFrame[]): PreparedFrame[];
  /**
   * The `event` frames of `events` (a replay's chunk, sent to one socket), packed as `pack` does.
   * Each is only encoded, not framed as a message of its own: packed, its framing would be thrown
   * away.
   */
  packEvents(events: readonly StoredEvent[]): PreparedFrame[];
}

/** A frame's payload, framed as a message only if it goes out alone. */
type Part = Pick<PreparedFrame, 'type'> & { readonly bytes: Uint8Array; readonly wire?: PreparedFrame['wire'] };

export const eventFrame = (event: StoredEvent): EventFrame => ({
  t: 'event',
  topic: event.topic,
  epoch: event.epoch,
  seq: event.seq,
  data: event.data,
  at: event.at,
});

/** msgpack array header for `n` items (fixarray, array 16, array 32). */
export function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** `maxFrameBytes`: the largest batch to make (the peer's frame limit). */
export function createServerFrames(codec: Pick<Codec, 'encode'>, maxFrameBytes: number): ServerFrames {
  // A batch is `{t: 'batch', frames: [...]}`: its bytes are this prefix, the array header and the
  // frames' own encodings, so each part is encoded once, and sized exactly, before packing.
  const emptyBatch = codec.encode({ t: 'batch', frames: [] });
  if (emptyBatch.at(-1) !== 0x90) throw new Error('Unexpected batch encoding');
  const batchPrefix = emptyBatch.slice(0, -1);
  // The array header of at most MAX_BATCH_FRAMES (< 65,536) frames takes 3 bytes at most.
  const batchOverhead = batchPrefix.byteLength + 3;
  let lastEvent: StoredEvent | undefined;
  let lastEventFrame: PreparedFrame | undefined;

  const prepare = (frame: ServerFrame): PreparedFrame => prepareFrame(codec.encode(frame), frame.t);

  function batch(parts: readonly Part[]): PreparedFrame {
    if (parts.length === 1) {
      const part = parts[0]!;
      // A part from `packEvents` has no framing yet (no `wire` key); one from `prepare` has.
      return 'wire' in part ? (part as PreparedFrame) : prepareFrame(part.bytes, part.type);
    }
    const header = arrayHeader(parts.length);
    let size = batchPrefix.byteLength + header.byteLength;
    for (const part of parts) size += part.bytes.byteLength;
    const bytes = Buffer.allocUnsafe(size);
    bytes.set(batchPrefix, 0);
    bytes.set(header, batchPrefix.byteLength);
    let at = batchPrefix.byteLength + header.byteLength;
    for (const part of parts) {
      bytes.set(part.bytes, at);
      at += part.bytes.byteLength;
    }
    return prepareFrame(bytes, 'batch');
  }

  function pack(parts: readonly Part[]): PreparedFrame[] {
    const out: PreparedFrame[] = [];
    let group: Part[] = [];
    let groupBytes = batchOverhead;
    for (const part of parts) {
      if (group.length > 0 && (groupBytes + part.bytes.byteLength > maxFrameBytes || group.length === MAX_BATCH_FRAMES)) {
        out.push(batch(group));
        group = [];
        groupBytes = batchOverhead;
      }
      group.push(part);
      groupBytes += part.bytes.byteLength;
    }
    if (group.length > 0) out.push(batch(group));
    return out;
  }

  return {
    prepare,
    event(event) {
      if (event !== lastEvent) {
        lastEventFrame = prepare(eventFrame(event));
        lastEvent = event;
      }
      return lastEventFrame!;
    },
    pack,
    packEvents: (events) => pack(events.map((event) => ({ type: 'event', bytes: codec.encode(eventFrame(event)) }))),
  };
}
