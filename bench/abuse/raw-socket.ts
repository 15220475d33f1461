/**
 * A WebSocket client on a bare TCP socket, for attacks the `ws` client will not make: it can stop
 * reading (`pause()`), so the server's send buffer fills the way a stalled or hostile client fills
 * it, and it writes frames as fast as the kernel takes them. Client frames are masked (RFC 6455
 * §5.3); frames from the server are counted, not parsed.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawSocket {
  /** Sends one binary (msgpack) or text (engine.io) frame; resolves once the kernel took it. */
  send(payload: Uint8Array | string): Promise<void>;
  /** Stops reading: what the server sends piles up in its buffers. */
  pause(): void;
  /** Bytes received since the upgrade. */
  readonly received: number;
  /** Resolves with the first bytes after the upgrade (the server's first frame). */
  readonly firstData: Promise<void>;
  /** Settles when the server (or the network) closed the socket. */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
  destroy(): void;
}

function frame(payload: Uint8Array | string): Buffer {
  const text = typeof payload === 'string';
  const data = text ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const length = data.length;
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + length);
  out[0] = 0x80 | (text ? 0x1 : 0x2);
  if (length < 126) out[1] = 0x80 | length;
  else if (length < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < length; i += 1) out[head + 4 + i] = data[i]! ^ mask[i % 4]!;
  return out;
}

/** Opens `path` on 127.0.0.1:`port` with a WebSocket upgrade; resolves once the server switched protocols. */
export function openRawSocket(port: number, path: string, origin?: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let upgraded = false;
    let buffered = Buffer.alloc(0);
    let received = 0;
    let markFirst: () => void = () => {};
    const firstData = new Promise<void>((done) => (markFirst = done));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    socket.once('error', (error) => (upgraded ? undefined : reject(error)));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) {
        received += chunk.length;
        markFirst();
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        return;
      }
      upgraded = true;
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) {
        received += rest.length;
        markFirst();
      }
      resolve({
        send: (payload) => {
          if (isClosed || socket.write(frame(payload))) return Promise.resolve();
          return Promise.race([new Promise<void>((drained) => socket.once('drain', () => drained())), closed]);
        },
        pause: () => socket.pause(),
        get received() {
          return received;
        },
        firstData,
        closed,
        get isClosed() {
          return isClosed;
        },
        destroy: () => socket.destroy(),
      });
    });
    socket.once('connect', () => {
      socket.write(
        [
          `GET ${path} HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
          ...(origin ? [`Origin: ${origin}`] : []),
          '',
          '',
        ].join('\r\n'),
      );
    });
  });
}
