/**
 * The part of a `ws` WebSocket that a client connection uses (`clients/client.ts`,
 * `clients/outbound.ts`, `transports/prepared-frame.ts`), named so that the HTTP session
 * (`transports/http-session.ts`) can present the same surface and the connection's handshake,
 * session, limits and metrics run over HTTP streaming and long polling unchanged. A `ws`
 * `WebSocket` satisfies it as it is.
 */
import type { RawData } from 'ws';

/** `ws`'s `readyState` values (the WebSocket API's). */
export const SocketState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** What a socket needs of a prepared frame (`prepared-frame.ts`): its type and msgpack bytes. */
export interface FrameBytes {
  /** The frame's `t` (`batch` for several). */
  readonly type: string;
  readonly bytes: Buffer;
}

export interface ClientSocket {
  binaryType: string;
  readonly readyState: number;
  /** Bytes queued and not yet written (what back-pressure and the backlog limit read). */
  readonly bufferedAmount: number;
  on(event: 'message', listener: (this: ClientSocket, data: RawData, isBinary: boolean) => void): unknown;
  on(event: 'error', listener: (this: ClientSocket, error: Error) => void): unknown;
  on(event: 'close', listener: (this: ClientSocket, code: number, reason: Buffer) => void): unknown;
  send(data: Buffer, options: { readonly binary: boolean }, cb?: (error?: Error) => void): void;
  close(code: number, reason: string): void;
  terminate(): void;
  /**
   * Writes a frame prepared for many sockets, when the socket has a faster or richer way than
   * `send` (the HTTP session uses the frame's type to give SSE events an `id`). Optional: `ws`
   * has none, and `writePrepared` uses its sender instead.
   */
  sendPrepared?(frame: FrameBytes, done?: () => void): void;
}
