/**
 * A quick exact check for the server frames that come by the thousand: `event` frames, alone or
 * packed in a `batch` (a replay after a long absence), and successful `ack`s (an outbox flush gets
 * one per message). Checking each with the protocol's valibot schema cost the hub about as much as
 * decoding the msgpack. This check accepts a frame only where
 * `ServerFrameSchema` would accept it and give the same value back: every field of
 * `EventFrameSchema` checked the same way, and no key the schema does not name (valibot would drop
 * it, so the frame would no longer be the same value). Anything else, also any valid frame it does
 * not know, returns `undefined` and goes through the schema as before, with its error message.
 */
import { isPlainObject } from '../parse';
import type { EventFrame, ServerFrame } from './protocol';

/** The keys of an `event` frame, all required (`data` may hold `undefined`, as in the schema). */
const EVENT_KEYS = 6;
/** `EventFrameSchema`'s limits: `topic` is `text(80)`, `epoch` is `text(64)`. */
const MAX_TOPIC = 80;
const MAX_EPOCH = 64;

function ownKeyCount(value: object): number {
  let count = 0;
  for (const key in value) if (Object.hasOwn(value, key)) count++;
  return count;
}

/** Whether `value` is an `event` frame exactly as `EventFrameSchema` reads it. */
function isEventFrame(value: unknown): value is EventFrame {
  if (!isPlainObject(value)) return false;
  const frame = value;
  const { t, topic, epoch, seq, at } = frame;
  return (
    t === 'event' &&
    typeof topic === 'string' &&
    topic.length <= MAX_TOPIC &&
    typeof epoch === 'string' &&
    epoch.length <= MAX_EPOCH &&
    typeof seq === 'number' &&
    Number.isSafeInteger(seq) &&
    seq >= 0 &&
    typeof at === 'number' &&
    Number.isFinite(at) &&
    Object.hasOwn(frame, 'data') &&
    ownKeyCount(frame) === EVENT_KEYS
  );
}

/** `AckOk`'s limit: `id` is `text(64)`. */
const MAX_ACK_ID = 64;

/**
 * Whether `value` is a successful `ack` exactly as `AckOk` reads it: `t`, `id` and `ok: true`, and
 * `result` only when the key is there (valibot keeps a present optional key, any value).
 */
function isAckOk(frame: Record<string, unknown>): boolean {
  const { id } = frame;
  const keys = ownKeyCount(frame);
  return (
    frame.ok === true &&
    typeof id === 'string' &&
    id.length <= MAX_ACK_ID &&
    (keys === 3 || (keys === 4 && Object.hasOwn(frame, 'result')))
  );
}

/**
 * `value` (a decoded frame whose tag is known) as a `ServerFrame` when it is an `event` frame, a
 * `batch` of nothing but `event` frames, or a successful `ack`, that the schema would return unchanged; otherwise
 * `undefined`: the caller checks it with the schema.
 */
export function quickServerFrame(value: object): ServerFrame | undefined {
  const frame = value as Record<string, unknown>;
  if (frame.t === 'event') return isEventFrame(frame) ? frame : undefined;
  if (frame.t === 'ack') return isPlainObject(frame) && isAckOk(frame) ? (frame as ServerFrame) : undefined;
  if (frame.t !== 'batch' || !isPlainObject(frame) || ownKeyCount(frame) !== 2) return undefined;
  const frames = frame.frames;
  if (!Array.isArray(frames)) return undefined;
  for (const part of frames) if (!isEventFrame(part)) return undefined;
  return frame as ServerFrame;
}
