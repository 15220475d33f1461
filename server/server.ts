/**
 * The server's composition root: one `node:http` server carrying the admin/metrics routes, the
 * static web dashboard at `/`, the `/ws` WebSocket endpoint and its HTTP fallbacks under `/rt/`, wired to the server's parts —
 * access tokens (`auth/access.ts`), stream topics and the event log (`streams/streams.ts`), alerts
 * (`alerts/open.ts`), prices and the simulator (`prices/prices.ts`), the live clients, client
 * messages, the limits on what clients may cost (`limits/`) and metrics. Only this module wires parts together; each receives what it needs here.
 * Start-up that fails releases what it opened; `close()` takes everything down in order.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ServerAlert } from '../lib/wire/alerts';
import { createCodec } from '../lib/wire/codec';
import type { NotificationData } from '../lib/wire/notifications';
import type { PriceTick } from '../lib/wire/prices';
import { createAlertEngine } from './alerts/engine';
import { openAlerts, type Alerts } from './alerts/open';
import { createAccess } from './auth/access';
import type { MintedToken } from './auth/tokens';
import { createClient, type ClientContext } from './clients/client';
import { createLiveClients, type LiveClients } from './clients/live-clients';
import { createServerFrames } from './clients/frames';
import { createClientMessages } from './clients/messages';
import type { StoreKind } from './event-log/open';
import type { Appended, EventLog, TopicHead } from './event-log/types';
import { createAdminRoutes } from './http/admin-api';
import { createDashboard, NOT_BUILT_MESSAGE } from './http/dashboard';
import { createOriginPolicy } from './http/origin';
import { createHttpHandler } from './http/routes';
import { createConnectionCaps, type ConnectionCaps } from './limits/connection-caps';
import { capSockets, httpServerOptions } from './limits/http';
import { createLimitMetrics } from './limits/metrics';
import { refuseSocket } from './limits/refuse';
import { createMetrics } from './metrics';
import { resolveOptions, type ServerInput, type ServerOptions } from './options';
import type { PublishResult } from './prices/book';
import { createPrices, type Prices } from './prices/prices';
import { createStartUp, type StartUp } from './common/start-up';
import { joinCluster, type Cluster } from './redis/cluster';
import { openRedisPriceRelay, type PriceRelay } from './redis/price-relay';
import { openStreams, type Streams } from './streams/streams';
import { createHttpTransports, type HttpTransports } from './transports/http-transports';
import { createWebSocketEndpoint, WS_PATH } from './transports/websocket';

/** Most frames in one `POST /rt/sessions/<id>/frames` (a hub's outbox flush fits in a few). */

export type { ServerInput, ServerOptions, SimulatorOptions } from './options';
export type { PublishResult } from './prices/book';
export type { TokenCheck, TokenVerifier } from './auth/checks';
export type { MintedToken } from './auth/tokens';
export type { Appended, EventLog, Retention, StoredEvent, TopicHead } from './event-log/types';
export { DEFAULT_RETENTION } from './event-log/types';
export { WS_PATH } from './transports/websocket';

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
  /** Clients (any transport) of this node subscribed to a stream topic right now. */
  streamSubscribers(topic: string): number;
  /** Sends pending batched ticks and alert lists now instead of at the next flush. */
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
  const frames = createServerFrames(codec, options.maxFrameBytes);
  const clients = createLiveClients({ heartbeatMs: options.heartbeatMs });
  const engine = createAlertEngine();
  const metrics = createMetrics({ openConnections: () => clients.openCount(), heldAlerts: () => engine.size, httpSessions: () => httpTransports.counts() });
  /** Counts and logs a failure the server carries on after. */
  function reportError(error: unknown, message: string): void {
    metrics.handlerError();
    logger.error({ err: error }, message);
  }

  const ownLog = options.eventLog === undefined;
  const access = createAccess(options, ownLog && options.store === 'sqlite');
  const startUp = createStartUp((error) => logger.warn({ err: error }, 'closing a part after a failed start failed'));
  // With several nodes, the node evaluating alerts also sweeps old events (`cluster` is set below).
  let cluster: Cluster | undefined;
  const sweeps = () => cluster?.leading() ?? true;
  const streams = await startUp.open(() => openStreams({ options, metrics, logger, reportError, sweeps }), (part) => part.close());
  const alerts = await startUp.open(
    () =>
      openAlerts({
        options,
        store: ownLog ? options.store : 'memory',
        engine,
        codec,
        frames,
        metrics,
        publishEvent: streams.publish,
        ...(streams.publishOnce ? { publishOnce: streams.publishOnce } : {}),
        reportError,
      }),
    (part) => part.service.close(),
  );
  const clientMessages = createClientMessages({ alerts: alerts.service, metrics, logger });
  const redisUrl = options.redisUrl;
  const relay = redisUrl === undefined ? undefined : await startUp.open(() => openRedisPriceRelay({ url: redisUrl, logger }), (part) => part.close());
  const prices = createPrices({ options, metrics, frames, logger, reportError, onTick: (tick) => alerts.service.onTick(tick), ...(relay ? { relay } : {}) });
  const joined = await joinNodes({ redisUrl, relay, prices, alerts, logger, startUp });
  cluster = joined.cluster;
  const context: ClientContext = {
    codec,
    frames,
    options,
    verifyToken: access.verify,
    fanout: prices.fanout,
    log: streams.log,
    streamFanout: streams.fanout,
    alertsTopic: alerts.topic,
    clientMessages,
    metrics,
    logger,
  };

  const adminRoutes = createAdminRoutes({
    adminToken: options.adminToken,
    publishPrice: prices.book.publish,
    publishEvent: streams.publish,
    resetTopic: streams.reset,
    mintToken: access.mint,
    listAlerts: (user) => alerts.service.list(user),
  });
  const dashboard = createDashboard({ dir: options.dashboardDir, logger });
  const unhealthy = (): string | null => {
    const up = [relay?.available(), cluster?.available(), streams.log.available?.()];
    return up.includes(false) ? 'Redis is unavailable (REDIS_URL)' : null;
  };
  const limitMetrics = createLimitMetrics(metrics.registry);
  const caps = createConnectionCaps({ limits: options.limits, metrics: limitMetrics });
  const origins = createOriginPolicy(options);
  let closing: Promise<void> | undefined;
  const accepting = () => closing === undefined;
  const httpTransports = createHttpTransports({ options, context, origins, caps, metrics, accepting, unhealthy });
  const http = createServer(httpServerOptions(options.limits), createHttpHandler({ adminRoutes, dashboard, metrics, logger, unhealthy, transports: httpTransports.handle }));
  capSockets(http, options.limits, limitMetrics);
  http.on(
    'upgrade',
    createWebSocketEndpoint({
      maxFrameBytes: options.maxFrameBytes,
      origins,
      metrics,
      logger,
      reportError,
      accepting,
      onSocket: (ws, req) => {
        const admission = caps.admit(req.socket.remoteAddress);
        if (!admission.ok) return refuseSocket(ws, admission, { codec, metrics, graceMs: options.shutdownGraceMs });
        try {
          clients.add(createClient(ws, context, admission.ticket, clients));
        } catch (error) {
          admission.ticket.release(); // The endpoint reports the failure and destroys the socket.
          throw error;
        }
      },
    }),
  );

  try {
    await listen(http, options.port, options.host);
  } catch (error) {
    // Not listening (e.g. the port is taken): release what was opened, then report.
    clients.stop();
    httpTransports.stop();
    caps.stop();
    return startUp.fail(error);
  }
  http.on('error', (error) => logger.error({ err: error }, 'http server error'));
  const port = (http.address() as AddressInfo).port;
  origins.addOwnOrigins(options.host, port);
  joined.listening();
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${hostInUrl}:${port}`;
  logger.info({ url, simulator: options.simulator, store: streams.log.kind }, 'server started');
  if (!dashboard.built()) logger.warn({ dir: dashboard.dir }, NOT_BUILT_MESSAGE);

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
    eventLog: streams.log,
    mintToken: access.mint,
    publishEvent: streams.publish,
    resetTopic: streams.reset,
    publishPrice: (symbol, price) => prices.book.publish(symbol, price),
    latestPrice: (symbol) => prices.book.get(symbol),
    listAlerts: (user) => alerts.service.list(user),
    connectionCount: () => clients.openCount(),
    streamSubscribers: (topic) => streams.fanout.count(topic),
    flush: () => {
      prices.fanout.flush();
      alerts.topic.flush();
    },
    metricsText: () => metrics.render(),
    close: () => (closing ??= shutdown({ http, clients, httpTransports, caps, prices, relay, cluster, streams, alerts, logger })),
  };
}

/**
 * With several nodes on Redis: prices from the relay, the other nodes' alert changes and the alert
 * lease (`redis/cluster.ts`). The simulator runs on the node evaluating alerts, or on the only
 * node, once it listens (`listening()`).
 */
async function joinNodes(parts: {
  readonly redisUrl: string | undefined;
  readonly relay: PriceRelay | undefined;
  readonly prices: Prices;
  readonly alerts: Alerts;
  readonly logger: Logger;
  readonly startUp: StartUp;
}): Promise<{ readonly cluster: Cluster | undefined; listening(): void }> {
  const { redisUrl, relay, prices, alerts, logger, startUp } = parts;
  if (relay) await startUp.open(async () => prices.seed(await relay.start((tick) => prices.book.accept(tick))), () => {});
  let simulating = false;
  let listening = false;
  const syncSimulator = (): void => {
    if (listening && simulating) prices.simulator?.start();
    else prices.simulator?.stop();
  };
  const shared = alerts.shared;
  const cluster =
    redisUrl === undefined || !shared
      ? undefined
      : await startUp.open(
          () =>
            joinCluster({
              url: redisUrl,
              logger,
              store: shared,
              alerts: alerts.service,
              onLeading(leading) {
                simulating = leading;
                syncSimulator();
              },
            }),
          (part) => part.close(),
        );
  if (!cluster) simulating = true;
  return {
    cluster,
    listening() {
      listening = true;
      syncSimulator();
    },
  };
}

/** Resolves once `http` listens; rejects if it cannot (e.g. the port is taken). */
function listen(http: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
}

interface Running {
  readonly http: Server;
  readonly clients: LiveClients;
  readonly httpTransports: Pick<HttpTransports, 'closeAll' | 'stop'>;
  readonly caps: ConnectionCaps;
  readonly prices: Prices;
  readonly relay: PriceRelay | undefined;
  readonly cluster: Cluster | undefined;
  readonly streams: Streams;
  readonly alerts: Alerts;
  readonly logger: Logger;
}

/** Refuses new sockets, closes every client with 1001, stops the timers, then closes alerts and the log in that order. */
async function shutdown({ http, clients, httpTransports, caps, prices, relay, cluster, streams, alerts, logger }: Running): Promise<void> {
  prices.simulator?.stop();
  const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  await Promise.all([clients.closeAll('server going away'), httpTransports.closeAll('server going away')]);
  clients.stop();
  httpTransports.stop();
  caps.stop();
  prices.fanout.stop();
  // Leaving the lease first lets another node take over at once, not after its TTL.
  await cluster?.close();
  await relay?.close();
  alerts.topic.stop();
  streams.stop();
  http.closeAllConnections();
  await stopped;
  // Before the log: fired alerts still being appended to feeds must land first.
  await alerts.service.close();
  await streams.close();
  logger.info('server stopped');
}
