/**
 * The plain-HTTP side of the server: the router, Prometheus metrics, health check and the
 * placeholder page at `/`, plus the admin API routes it is handed. Every answer is JSON except
 * `/metrics` and `/`; unknown routes get 404 and known routes with the wrong method 405, both with
 * a readable `error`; a handler that fails gets 500 and is counted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { sendJson, type Handler, type Routes } from './http-body';
import type { Metrics } from './metrics';

export interface HttpRoutesDeps {
  /** The admin API (see `admin-api.ts`). */
  readonly adminRoutes: Routes;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Switchboard server</title></head>
<body>
<h1>Switchboard server</h1>
<p>The WebSocket endpoint is <code>/ws</code>; metrics are at <a href="/metrics">/metrics</a>. The dashboard comes later.</p>
</body>
</html>
`;

export function createHttpHandler(deps: HttpRoutesDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const getMetrics: Handler = async (_req, res) => {
    const text = await deps.metrics.render();
    res.writeHead(200, { 'content-type': deps.metrics.contentType, 'cache-control': 'no-store' });
    res.end(text);
  };

  const getPage: Handler = (_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
      'x-content-type-options': 'nosniff',
    });
    res.end(PLACEHOLDER_PAGE);
  };

  const routes: Routes = {
    ...deps.adminRoutes,
    '/': { GET: getPage },
    '/healthz': { GET: (_req, res) => sendJson(res, 200, { ok: true }) },
    '/metrics': { GET: getMetrics },
    '/ws': { GET: (_req, res) => sendJson(res, 426, { error: 'This endpoint speaks WebSocket only' }, { upgrade: 'websocket' }) },
  };

  return (req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const methods = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const handler = methods && Object.hasOwn(methods, method) ? methods[method] : undefined;
    const fail = (error: unknown) => {
      deps.metrics.handlerError();
      deps.logger.error({ err: error, method, path }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error' });
      else res.destroy();
    };
    try {
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
