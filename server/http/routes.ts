/**
 * The plain-HTTP side of the server: the router, Prometheus metrics, health check, plus the admin
 * API routes and the dashboard it is handed. The API paths (`/api/...`, `/rt/...`, `/metrics`, `/healthz`,
 * `/ws`) come first and answer JSON (except `/metrics`): unknown ones get 404 and known ones with
 * the wrong method 405, both with a readable `error`. Every other path is the dashboard's. A
 * handler that fails gets 500 and is counted; one that failed because a shared store (Redis) is
 * unreachable gets 503 with that store's message, and `/healthz` answers 503 while it is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { isStoreUnavailable } from '../common/unavailable';
import type { Metrics } from '../metrics';
import { closeUnlessBodyRead, sendJson, type Handler, type Routes } from './body';
import type { Dashboard } from './dashboard';

export interface HttpRoutesDeps {
  /** The admin API (see `admin-api.ts`). */
  readonly adminRoutes: Routes;
  /** Serves every path that is not an API path (see `dashboard.ts`). */
  readonly dashboard: Pick<Dashboard, 'handle'>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Serves every path under `/rt/` (the HTTP transports, `transports/http-endpoints.ts`). */
  readonly transports?: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;
  /** Why the server cannot serve right now (a shared store is unreachable), or `null` when it can. */
  readonly unhealthy?: () => string | null;
}

/** Paths the API owns even when no route matches (a JSON 404 there, never a dashboard file). */
function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/rt' || path.startsWith('/rt/');
}

export function createHttpHandler(deps: HttpRoutesDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const getMetrics: Handler = async (_req, res) => {
    const text = await deps.metrics.render();
    res.writeHead(200, { 'content-type': deps.metrics.contentType, 'cache-control': 'no-store' });
    res.end(text);
  };

  const routes: Routes = {
    ...deps.adminRoutes,
    '/healthz': {
      GET: (_req, res) => {
        const problem = deps.unhealthy?.() ?? null;
        if (problem === null) return sendJson(res, 200, { ok: true });
        sendJson(res, 503, { ok: false, error: problem }, { 'retry-after': '1' });
      },
    },
    '/metrics': { GET: getMetrics },
    '/ws': { GET: (_req, res) => sendJson(res, 426, { error: 'This endpoint speaks WebSocket only' }, { upgrade: 'websocket' }) },
  };

  return (req, res) => {
    closeUnlessBodyRead(req, res);
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const methods = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const handler = methods && Object.hasOwn(methods, method) ? methods[method] : undefined;
    const fail = (error: unknown) => {
      if (isStoreUnavailable(error)) {
        deps.logger.warn({ err: error, method, path }, 'request refused: a shared store is unavailable');
        if (!res.headersSent) return sendJson(res, 503, { error: error.message }, { 'retry-after': '1' });
        return res.destroy();
      }
      deps.metrics.handlerError();
      deps.logger.error({ err: error, method, path }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error' });
      else res.destroy();
    };
    try {
      if (deps.transports && path.startsWith('/rt/')) return void deps.transports(req, res, path).catch(fail);
      if (!methods && !isApiPath(path)) return void deps.dashboard.handle(req, res).catch(fail);
      if (!methods) return sendJson(res, 404, { error: `Not found: ${method} ${path.slice(0, 200)}` });
      if (!handler) {
        const allow = Object.keys(methods).join(', ');
        return sendJson(res, 405, { error: `Method ${method} not allowed on ${path}: use ${allow}` }, { allow });
      }
      void Promise.resolve(handler(req, res)).catch(fail);
    } catch (error) {
      fail(error);
    }
  };
}
