/**
 * The server-sent events format of the streaming transport
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * one event per server frame, its `data` the frame's msgpack in base64 (no newline can occur in
 * it). An `event` frame, or a `batch` holding events, also carries an `id`: the position of its
 * last event as `[topic, epoch, seq]` in JSON, so a client that reads `Last-Event-ID` (or the last
 * `id` it saw) knows the cursor it reached. The server's close is the last event, `event: close`
 * with `{code, reason}`.
 */
import { decode } from '@msgpack/msgpack';
import type { FrameBytes } from './client-socket';

/** A session's close, as a receiver is told it. */
export interface SessionClose {
  readonly code: number;
  readonly reason: string;
}

/** No caching, and no buffering by nginx-style proxies (`x-accel-buffering`), so each event goes out as written. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-store',
  'x-accel-buffering': 'no',
} as const;

/** A comment line: ignored by SSE parsers, but it keeps the response (and a proxy's idle timer) alive. */
export const HEARTBEAT_COMMENT = ': heartbeat\n\n';

/**
 * Each frame's text, made once however many sessions it goes to: a fan-out hands every socket the
 * same bytes, and decoding them for the id and encoding them in base64 per session would repeat
 * the work a thousand times for a thousand streams. Dropped with the bytes.
 */
const texts = new WeakMap<Buffer, { base64: string; sse?: string }>();

/** The frame's msgpack in base64 (a long poll's JSON carries it as a string). */
export function base64Of(frame: FrameBytes): string {
  let text = texts.get(frame.bytes);
  if (!text) texts.set(frame.bytes, (text = { base64: frame.bytes.toString('base64') }));
  return text.base64;
}

/** The SSE event of one server frame. */
export function sseEvent(frame: FrameBytes): string {
  const base64 = base64Of(frame);
  const text = texts.get(frame.bytes)!;
  if (text.sse === undefined) {
    const id = frame.type === 'event' || frame.type === 'batch' ? lastEventId(frame.bytes) : undefined;
    text.sse = `${id === undefined ? '' : `id: ${id}\n`}data: ${base64}\n\n`;
  }
  return text.sse;
}

/** The final event of a closed session. */
export const closeEvent = (close: SessionClose): string => `event: close\ndata: ${JSON.stringify(close)}\n\n`;

interface Positioned {
  readonly t?: unknown;
  readonly topic?: unknown;
  readonly epoch?: unknown;
  readonly seq?: unknown;
}

/**
 * `[topic, epoch, seq]` of the last event in the frame (the server's own bytes, so decoding them is
 * safe). Only streaming pays this, and only for frames that carry events.
 */
function lastEventId(bytes: Buffer): string | undefined {
  const frame = decode(bytes) as Positioned & { readonly frames?: readonly Positioned[] };
  const events = frame.t === 'batch' ? (frame.frames ?? []) : [frame];
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.t === 'event' && typeof e.topic === 'string' && typeof e.epoch === 'string' && typeof e.seq === 'number') {
      return JSON.stringify([e.topic, e.epoch, e.seq]);
    }
  }
  return undefined;
}
