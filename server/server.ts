/**
 * The server's composition root: one `node:http` server carrying the admin/metrics routes, the
 * static web dashboard at `/` and the `/ws` WebSocket endpoint, wired to the event log, token
 * service, stream and price fan-outs, alert engine, store and service, client messages, simulator
 * and metrics. Nothing else constructs these parts; each receives what it needs here.
 */
import { createServer, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ServerAlert } from '../lib/wire/alerts';
import { createCodec } from '../lib/wire/codec';
import type { NotificationData } from '../lib/wire/notifications';
import type { PriceTick } from '../lib/wire/prices';
import { MAX_TOPIC_LENGTH, parseTopic, streamTopic, type TopicId } from '../lib/wire/topics';
import { createAlertEngine } from './alerts/engine';
import { openAlertStore } from './alerts/open-store';
import { openAlertService, type AlertService } from './alerts/service';
import { createAlertsTopic } from './alerts/topic';
import { withDevToken } from './auth/checks';
import { loadOrCreateTokenSecret, randomSecret } from './auth/token-secret';
import { createTokenService, type MintedToken } from './auth/tokens';
import { createClient, type ClientContext } from './clients/client';
import { createLiveClients } from './clients/live-clients';
import { createClientMessages } from './clients/messages';
import { openEventLog, type StoreKind } from './event-log/open';
import type { Appended, EventLog, TopicHead } from './event-log/types';
import { createAdminRoutes } from './http/admin-api';
import { createDashboard, NOT_BUILT_MESSAGE } from './http/dashboard';
import { createOriginPolicy } from './http/origin';
import { createHttpHandler } from './http/routes';
import { createMetrics, type RefusalReason } from './metrics';
import { resolveOptions, type ServerInput } from './options';
import { createPriceBook, type PublishResult } from './prices/book';
import { createPriceFanout } from './prices/fanout';
import { createSimulator, type Simulator } from './prices/simulator';
import { createStreamFanout } from './streams/fanout';

export type { ServerInput, ServerOptions, SimulatorOptions } from './options';
export type { PublishResult } from './prices/book';
export type { TokenCheck, TokenVerifier } from './auth/checks';
export type { MintedToken } from './auth/tokens';
export type { Appended, EventLog, Retention, StoredEvent, TopicHead } from './event-log/types';
export { DEFAULT_RETENTION } from './event-log/types';

/** The WebSocket endpoint's path. */
export const WS_PATH = '/ws';

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** The web dashboard, e.g. `http://127.0.0.1:8787/`. */
  readonly dashboardUrl: string;
  /** The directory the dashboard is served from, absolute. */
  readonly dashboardDir: string;
  /** Whether that directory holds a built dashboard (`index.html`) right now. */
  dashboardBuilt(): boolean;
  /** WebSocket endpoint, e.g. `ws://127.0.0.1:8787/ws`. */
  readonly wsUrl: string;
  readonly host: string;
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** Bearer token of the admin API (the generated one if none was given). */
  readonly adminToken: string;
  /** The fixed test-only access token, when one was configured. */
  readonly devToken: string | undefined;
  /** Where stream topics are logged, and the directory of the SQLite file and token secret. */
  readonly store: StoreKind;
  readonly dataDir: string;
  /** The event log in use. */
  readonly eventLog: EventLog;
  /** Mints an access token, as `POST /api/tokens` does. */
  mintToken(user: string, ttlSeconds?: number): Promise<MintedToken>;
  /** Appends to a stream topic (`feed:<user>`, `news`) and fans it out; resolves once durable. Throws on another topic. */
  publishEvent(topic: string, data: NotificationData): Promise<Appended>;
  /** Starts a new epoch for a stream topic, as `POST /api/topics/reset` does. */
  resetTopic(topic: string): Promise<TopicHead>;
  /** Publishes a price tick through the same path as `POST /api/prices`. */
  publishPrice(symbol: string, price: number): PublishResult;
  /** The latest tick of a symbol, if it has one. */
  latestPrice(symbol: string): PriceTick | undefined;
  /** A user's price alerts as the server holds them, newest first (what `GET /api/alerts` lists). */
  listAlerts(user: string): readonly ServerAlert[];
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
export async function startServer(input: ServerInput = {}): Promise<RunningServer> {
  const options = resolveOptions(input);
  const { logger } = options;
  const codec = createCodec({ maxFrameBytes: options.maxFrameBytes });
  const clients = createLiveClients({ heartbeatMs: options.heartbeatMs });
  const engine = createAlertEngine();
  const metrics = createMetrics({ openConnections: () => clients.openCount(), heldAlerts: () => engine.size });
  /** Counts and logs a failure the server carries on after. */
  function reportError(error: unknown, message: string): void {
    metrics.handlerError();
    logger.error({ err: error }, message);
  }

  const ownLog = options.eventLog === undefined;
  // Tokens outlive a restart exactly when the log does: a durable store keeps its secret next to it.
  const tokenSecret =
    options.tokenSecret ?? (ownLog && options.store === 'sqlite' ? loadOrCreateTokenSecret(options.dataDir) : randomSecret());
  const tokens = createTokenService({ secret: tokenSecret, ttlSeconds: options.tokenTtlSeconds, now: options.now });
  const verifyToken = options.verifyToken ?? withDevToken(tokens.verify, options.devToken);

  const eventLog =
    options.eventLog ??
    (await openEventLog({
      store: options.store,
      dataDir: options.dataDir,
      retention: options.retention,
      now: options.now,
      onWatcherError: (error) => reportError(error, 'event log watcher failed'),
    }));
  const streamFanout = createStreamFanout({ onDeliverError: (error) => reportError(error, 'event delivery failed') });
  const unwatch = eventLog.watch((change) => {
    if (change.type === 'event') metrics.eventAppended(parseTopic(change.event.topic)?.kind ?? 'other');
    streamFanout.dispatch(change);
  });
  const retentionSweep = setInterval(() => {
    eventLog.trim().catch((error: unknown) => logger.error({ err: error }, 'retention sweep failed'));
  }, sweepInterval(options.retention.maxAgeMs));
  retentionSweep.unref();
  /** What start-up must release if it fails from here on. */
  async function releaseLog(): Promise<void> {
    clearInterval(retentionSweep);
    unwatch();
    if (ownLog) await eventLog.close();
  }

  /** Callers validate first; a topic that is not a stream here is a bug. */
  function requireStream(topic: string): TopicId {
    const id = streamTopic(topic);
    if (id === null) throw new RangeError(`Not a stream topic: ${JSON.stringify(topic)}`);
    return id;
  }
  const publishEvent = (topic: string, data: NotificationData): Promise<Appended> => eventLog.append(requireStream(topic), data);
  async function resetTopic(topic: string): Promise<TopicHead> {
    const id = requireStream(topic);
    logger.warn({ topic: id }, 'topic reset to a new epoch');
    return eventLog.reset(id);
  }
  const alertsTopic = createAlertsTopic({
    snapshot: (user) => ({ alerts: engine.list(user) }),
    now: options.now,
    onDeliverError: (error) => reportError(error, 'alerts delivery failed'),
  });
  // As long as the longest topic name the protocol allows, so the check holds for every user.
  const longestAlertsTopic = 'x'.repeat(MAX_TOPIC_LENGTH);
  let alerts: AlertService;
  try {
    alerts = await openAlertService({
      // Alerts outlive a restart exactly when the log does (an injected log is the caller's business).
      store: await openAlertStore({ store: ownLog ? options.store : 'memory', dataDir: options.dataDir }),
      engine,
      topic: alertsTopic,
      publishEvent,
      metrics,
      fits: (state) => codec.encode({ t: 'state', topic: longestAlertsTopic, value: state, at: options.now() }).byteLength <= options.maxFrameBytes,
      now: options.now,
      onError: (error, what) => reportError(error, `alerts: ${what} failed`),
      sweepMs: options.alertSweepMs,
      appliedRetentionMs: options.clientMessageRetentionMs,
    });
  } catch (error) {
    await releaseLog();
    throw error;
  }
  const clientMessages = createClientMessages({ alerts, metrics, logger });
  const fanout = createPriceFanout({
    flushMs: options.flushMs,
    maxBufferedBytes: options.maxBufferedBytes,
    onDeliverError: (_target, error) => reportError(error, 'tick delivery failed'),
  });
  const book = createPriceBook({
    now: options.now,
    onTick: (tick) => {
      metrics.priceTick();
      fanout.publish(tick);
      alerts.onTick(tick);
    },
  });
  const origins = createOriginPolicy(options);
  const context: ClientContext = {
    codec,
    options,
    verifyToken,
    book,
    fanout,
    log: eventLog,
    streamFanout,
    alertsTopic,
    clientMessages,
    metrics,
    logger,
  };

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

  const adminRoutes = createAdminRoutes({
    adminToken: options.adminToken,
    publishPrice: book.publish,
    publishEvent,
    resetTopic,
    mintToken: (user, ttlSeconds) => tokens.mint(user, ttlSeconds),
    listAlerts: (user) => alerts.list(user),
  });
  const dashboard = createDashboard({ dir: options.dashboardDir, logger });
  const http = createServer(createHttpHandler({ adminRoutes, dashboard, metrics, logger }));
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
    const origin = origins.check(req.headers.origin, req.headers.host);
    if (!origin.ok) return refuse(socket, 403, origin.reason, 'origin');
    if (closing) return refuse(socket, 503, 'Server is shutting down');
    wss.handleUpgrade(req, socket, head, (ws) => clients.add(createClient(ws, context)));
  }

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      onUpgrade(req, socket, head);
    } catch (error) {
      reportError(error, 'upgrade failed');
      socket.destroy();
    }
  });

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // Not listening (e.g. the port is taken): release what was opened, then report.
    clients.stop();
    await alerts.close();
    await releaseLog();
    throw error;
  }
  http.on('error', (error) => logger.error({ err: error }, 'http server error'));
  const port = (http.address() as AddressInfo).port;
  origins.addOwnOrigins(options.host, port);
  simulator?.start();
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${hostInUrl}:${port}`;
  logger.info({ url, simulator: options.simulator, store: eventLog.kind }, 'server started');
  if (!dashboard.built()) logger.warn({ dir: dashboard.dir }, NOT_BUILT_MESSAGE);

  async function shutdown(): Promise<void> {
    simulator?.stop();
    const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeIdleConnections();
    await clients.closeAll('server going away');
    clients.stop();
    fanout.stop();
    clearInterval(retentionSweep);
    unwatch();
    http.closeAllConnections();
    await stopped;
    // Before the log: fired alerts still being appended to feeds must land first.
    await alerts.close();
    if (ownLog) await eventLog.close();
    logger.info('server stopped');
  }

  return {
    url,
    dashboardUrl: `${url}/`,
    dashboardDir: dashboard.dir,
    dashboardBuilt: () => dashboard.built(),
    wsUrl: `ws://${hostInUrl}:${port}${WS_PATH}`,
    host: options.host,
    port,
    adminToken: options.adminToken,
    devToken: options.devToken,
    store: options.store,
    dataDir: options.dataDir,
    eventLog,
    mintToken: (user, ttlSeconds) => tokens.mint(user, ttlSeconds),
    publishEvent,
    resetTopic,
    publishPrice: (symbol, price) => book.publish(symbol, price),
    latestPrice: (symbol) => book.get(symbol),
    listAlerts: (user) => alerts.list(user),
    connectionCount: () => clients.openCount(),
    flush: () => fanout.flush(),
    metricsText: () => metrics.render(),
    close: () => (closing ??= shutdown()),
  };
}

/** How often old events are swept: a tenth of the age limit, from once a second to once an hour. */
function sweepInterval(maxAgeMs: number): number {
  return Math.min(3_600_000, Math.max(1_000, Math.floor(maxAgeMs / 10)));
}
