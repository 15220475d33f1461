/**
 * A server frame encoded once and framed once as a WebSocket message, so that a fan-out writes the
 * same bytes to every socket instead of encoding and framing again per connection. Server frames
 * are not masked (RFC 6455 §5.1), so the frame is a header and the payload, both shared read-only:
 * `ws`'s own `Sender.frame` builds them (the way Socket.IO's adapter pre-frames a broadcast), and
 * writing them is what `ws.send` itself ends in (`sender.sendFrame`), minus the per-send header.
 * Where that shortcut cannot be taken (a `ws` without it, a socket not open, a sender busy with
 * compression, which this server never negotiates) the payload goes through `ws.send`.
 */
import * as wsModule from 'ws';
import type { ClientSocket } from './client-socket';

/** One encoded server frame and its WebSocket framing, shared by every socket it is written to. */
export interface PreparedFrame {
  /** The frame's `t` (`batch` for several), for the frames-sent metric. */
  readonly type: string;
  /** The msgpack payload. */
  readonly bytes: Buffer;
  /** Header and payload of an unmasked binary message, or `undefined` where `ws` cannot frame ahead. */
  readonly wire: readonly Buffer[] | undefined;
}

interface SenderClass {
  frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[];
}
interface SenderInstance {
  sendFrame(list: readonly Buffer[], cb?: (error?: Error) => void): void;
  _state?: number;
}

// `ws`'s ES module exports its `Sender` by name (its CommonJS entry hangs it on `WebSocket`).
const Sender = (wsModule as unknown as { Sender?: Partial<SenderClass> }).Sender;
const frameAhead = typeof Sender?.frame === 'function' ? (Sender as SenderClass) : undefined;
const BINARY = Object.freeze({ binary: true });
/** `ws`'s `Sender` state while it is free to write (not compressing, not reading a Blob). */
const SENDER_IDLE = 0;

/** Prepares `payload` (an encoded server frame of type `type`) for writing to any number of sockets. */
export function prepareFrame(payload: Uint8Array, type: string): PreparedFrame {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const wire = frameAhead?.frame(bytes, { fin: true, rsv1: false, opcode: 2, mask: false, readOnly: false });
  return { type, bytes, wire };
}

/** Writes `frame` to `ws` (which must be open); `done` runs once the socket has written it. A socket with its own `sendPrepared` writes it itself. */
export function writePrepared(ws: ClientSocket, frame: PreparedFrame, done?: () => void): void {
  if (ws.sendPrepared) return ws.sendPrepared(frame, done);
  const sender = (ws as unknown as { _sender?: Partial<SenderInstance> })._sender;
  if (frame.wire && typeof sender?.sendFrame === 'function' && (sender._state ?? SENDER_IDLE) === SENDER_IDLE) {
    return sender.sendFrame(frame.wire, done && (() => done()));
  }
  ws.send(frame.bytes, BINARY, done && (() => done()));
}
