/**
 * The server's composition root: one `node:http` server carrying the admin/metrics routes and the
 * `/ws` WebSocket endpoint, wired to the price book, fan-out, simulator and metrics. Nothing else
 * constructs these parts; each receives what it needs here.
 */
import { createServer, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { createCodec } from '../lib/codec';
import type { PriceTick } from '../lib/prices';
import { createConnection, type ConnectionContext } from './connection';
import { createConnectionRegistry } from './connections';
import { createPriceFanout } from './fanout';
import { createHttpHandler } from './http-routes';
import { createMetrics, type RefusalReason } from './metrics';
import { resolveOptions, type ServerOptions } from './options';
import { createOriginPolicy } from './origin';
import { createPriceBook, type PublishResult } from './price-book';
import { createSimulator, type Simulator } from './simulator';

export type { ServerOptions, SimulatorOptions } from './options';
export type { PublishResult } from './price-book';
export type { TokenCheck, TokenVerifier } from './auth';

/** The WebSocket endpoint's path. */
export const WS_PATH = '/ws';

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** WebSocket endpoint, e.g. `ws://127.0.0.1:8787/ws`. */
  readonly wsUrl: string;
  readonly host: string;
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** Bearer token of the admin API (the generated one if none was given). */
  readonly adminToken: string;
  /** The access token accepted in `hello`. */
  readonly devToken: string;
  /** Publishes a price tick through the same path as `POST /api/prices`. */
  publishPrice(symbol: string, price: number): PublishResult;
  /** The latest tick of a symbol, if it has one. */
  latestPrice(symbol: string): PriceTick | undefined;
  /** WebSocket connections open right now (what the `switchboard_ws_connections` gauge reports). */
  connectionCount(): number;
  /** Sends pending batched ticks now instead of at the next flush. */
  flush(): void;
  /** Prometheus text, as `GET /metrics` serves it. */
  metricsText(): Promise<string>;
  /** Graceful shutdown: refuse new connections, close every socket with 1001, stop timers. Idempotent. */
  close(): Promise<void>;
}

/** Starts a server and resolves once it is listening. */
export async function startServer(input: Readonly<Partial<ServerOptions>> = {}): Promise<RunningServer> {
  const options = resolveOptions(input);
  const { logger } = options;
  const codec = createCodec({ maxFrameBytes: options.maxFrameBytes });
  const registry = createConnectionRegistry({ heartbeatMs: options.heartbeatMs });
  const metrics = createMetrics({ openConnections: () => registry.openCount() });
  const fanout = createPriceFanout({
    flushMs: options.flushMs,
    maxBufferedBytes: options.maxBufferedBytes,
    onDeliverError: (_target, error) => {
      metrics.handlerError();
      logger.error({ err: error }, 'tick delivery failed');
    },
  });
  const book = createPriceBook({
    now: options.now,
    onTick: (tick) => {
      metrics.priceTick();
      fanout.publish(tick);
    },
  });
  const origins = createOriginPolicy(options);
  const context: ConnectionContext = { codec, options, verifyToken: options.verifyToken, book, fanout, metrics, logger };

  const simulator: Simulator | undefined =
    options.simulator === 'off'
      ? undefined
      : createSimulator({
          ticksPerSecond: options.simulator.ticksPerSecond,
          ...(options.simulator.symbols ? { symbols: options.simulator.symbols } : {}),
          publish: (symbol, price) => {
            const result = book.publish(symbol, price);
            if (!result.ok) logger.warn({ symbol, price, error: result.error }, 'simulator produced an invalid price');
          },
        });

  const http = createServer(createHttpHandler({ adminToken: options.adminToken, publishPrice: book.publish, metrics, logger }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
  let closing: Promise<void> | undefined;

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

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A peer resetting mid-handshake must not surface as an unhandled 'error' event.
    socket.on('error', (error) => logger.debug({ err: error }, 'upgrade socket error'));
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== WS_PATH) return refuse(socket, 404, `No WebSocket endpoint at ${path}: use ${WS_PATH}`, 'path');
    const origin = origins.check(req.headers.origin);
    if (!origin.ok) return refuse(socket, 403, origin.reason, 'origin');
    if (closing) return refuse(socket, 503, 'Server is shutting down');
    wss.handleUpgrade(req, socket, head, (ws) => registry.add(createConnection(ws, context)));
  }

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      onUpgrade(req, socket, head);
    } catch (error) {
      metrics.handlerError();
      logger.error({ err: error }, 'upgrade failed');
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  http.on('error', (error) => logger.error({ err: error }, 'http server error'));
  const port = (http.address() as AddressInfo).port;
  origins.addOwnOrigins(options.host, port);
  simulator?.start();
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${hostInUrl}:${port}`;
  logger.info({ url, simulator: options.simulator }, 'server started');

  async function shutdown(): Promise<void> {
    simulator?.stop();
    const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeIdleConnections();
    await registry.closeAll('server going away');
    registry.stop();
    fanout.stop();
    http.closeAllConnections();
    await stopped;
    logger.info('server stopped');
  }

  return {
    url,
    wsUrl: `ws://${hostInUrl}:${port}${WS_PATH}`,
    host: options.host,
    port,
    adminToken: options.adminToken,
    devToken: options.devToken,
    publishPrice: (symbol, price) => book.publish(symbol, price),
    latestPrice: (symbol) => book.get(symbol),
    connectionCount: () => registry.openCount(),
    flush: () => fanout.flush(),
    metricsText: () => metrics.render(),
    close: () => (closing ??= shutdown()),
  };
}
