/**
 * Opening, writing to and closing the hub's socket without throwing: a factory that throws (a bad
 * URL) gives a reason, a failed send is logged and reported as `false` (the close event that
 * follows is what moves the connection on), and a close the socket refuses is tried once more
 * without arguments.
 */
import { CloseCode } from '../../../lib/wire/close-codes';
import type { Codec } from '../../../lib/wire/codec';
import { toErrorData } from '../../../lib/errors';
import type { ClientFrame } from '../../../lib/wire/protocol';
import type { Logger, SocketFactory, SocketLike } from '../platform';

/** A socket for binary frames on `url`, or why none could be made. */
export function openBinarySocket(
  openSocket: SocketFactory,
  url: string,
): { readonly ok: true; readonly socket: SocketLike } | { readonly ok: false; readonly reason: string } {
  try {
    const socket = openSocket(url);
    socket.binaryType = 'arraybuffer';
    return { ok: true, socket };
  } catch (error) {
    return { ok: false, reason: `cannot open ${url}: ${toErrorData(error).message}` };
  }
}

/** Encodes and sends `frame`; returns whether the socket took it. */
export function sendFrame(socket: SocketLike, codec: Codec, log: Logger, frame: ClientFrame): boolean {
  try {
    socket.send(codec.encode(frame));
    return true;
  } catch (error) {
    log.warn('send failed', { frame: frame.t, error: toErrorData(error).message });
    return false;
  }
}

export function closeQuietly(socket: SocketLike, reason: string): void {
  try {
    // Browsers only accept 1000 or 3000-4999 here, and a reason of at most 123 UTF-8 bytes.
    socket.close(CloseCode.clientClosing, reason.slice(0, 60));
  } catch {
    try {
      socket.close();
    } catch {
      // Already closed.
    }
  }
}
