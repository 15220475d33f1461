/**
 * The `/ws` endpoint: which HTTP upgrades become WebSocket clients. A wrong path (404) or a server
 * shutting down (503) is answered with a plain HTTP status; an origin the policy refuses gets the
 * upgrade and close 4003 at once, because a browser reports any refused upgrade to scripts only as
 * 1006 (which reads as "retry"), while a close code tells the hub to stop and why. Refusals are
 * counted; an accepted socket is handed to `onSocket`. Nothing here reads a frame.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, closeRule } from '../../lib/wire/close-codes';
import type { OriginPolicy } from '../http/origin';
import type { Metrics, RefusalReason } from '../metrics';

/** The WebSocket endpoint's path. */
export const WS_PATH = '/ws';

export interface WebSocketEndpointDeps {
  /** Largest accepted WebSocket message (bigger closes with 1009). */
  readonly maxFrameBytes: number;
  readonly origins: Pick<OriginPolicy, 'check'>;
  readonly metrics: Pick<Metrics, 'connectionRefused'>;
  readonly logger: Logger;
  /** Counts and logs a failure the server carries on after. */
  readonly reportError: (error: unknown, message: string) => void;
  /** False once shutdown has begun: new upgrades are refused with 503. */
  readonly accepting: () => boolean;
  /** An upgrade was accepted. */
  readonly onSocket: (ws: WebSocket, req: IncomingMessage) => void;
}

/** Returns the handler for the HTTP server's `upgrade` event. */
export function createWebSocketEndpoint(deps: WebSocketEndpointDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { metrics, logger } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxFrameBytes, perMessageDeflate: false, clientTracking: false });

  /** Answers a refused upgrade with a plain HTTP status, the way `ws` aborts handshakes. */
  function refuse(socket: Duplex, status: number, message: string, reason?: RefusalReason): void {
    if (reason) metrics.connectionRefused(reason);
    logger.debug({ status, message }, 'upgrade refused');
    if (!socket.writable) return void socket.destroy();
    const body = `${message}\n`;
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  /**
   * Completes the upgrade only to close it with 4003: no listener is attached and `onSocket` never
   * sees it, so nothing the peer sends is read and nothing but the close frame is sent.
   */
  function refuseOrigin(req: IncomingMessage, socket: Duplex, head: Buffer, message: string): void {
    metrics.connectionRefused('origin');
    logger.debug({ message }, 'origin refused; closing with 4003');
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(CloseCode.originForbidden, closeRule(CloseCode.originForbidden).reason));
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A peer resetting mid-handshake must not surface as an unhandled 'error' event.
    socket.on('error', (error) => logger.debug({ err: error }, 'upgrade socket error'));
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== WS_PATH) return refuse(socket, 404, `No WebSocket endpoint at ${path}: use ${WS_PATH}`, 'path');
    const origin = deps.origins.check(req.headers.origin, req.headers.host);
    if (!origin.ok) return refuseOrigin(req, socket, head, origin.reason);
    if (!deps.accepting()) return refuse(socket, 503, 'Server is shutting down');
    wss.handleUpgrade(req, socket, head, deps.onSocket);
  }

  return (req, socket, head) => {
    try {
      onUpgrade(req, socket, head);
    } catch (error) {
      deps.reportError(error, 'upgrade failed');
      socket.destroy();
    }
  };
}
