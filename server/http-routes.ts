/**
 * The plain-HTTP side of the server: admin API (`POST /api/prices`), Prometheus metrics, health
 * check and the placeholder page at `/`. Every answer is JSON except `/metrics` and `/`; unknown
 * routes get 404 and known routes with the wrong method 405, both with a readable `error`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { priceTopic } from '../lib/ids';
import { isAdminRequest } from './auth';
import { readJsonBody, sendJson } from './http-body';
import type { Metrics } from './metrics';
import type { PublishResult } from './price-book';

/** Admin request bodies are a few fields; 16 KiB is generous and bounds what a request can cost. */
export const MAX_ADMIN_BODY_BYTES = 16 * 1024;

export interface HttpRoutesDeps {
  readonly adminToken: string;
  readonly publishPrice: (symbol: unknown, price: unknown) => PublishResult;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

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
  const postPrice: Handler = async (req, res) => {
    if (!isAdminRequest(req.headers.authorization, deps.adminToken)) {
      req.resume();
      return sendJson(res, 401, { error: 'Missing or wrong admin token: send Authorization: Bearer <ADMIN_TOKEN>' }, {
        'www-authenticate': 'Bearer realm="switchboard-admin"',
      });
    }
    const body = await readJsonBody(req, MAX_ADMIN_BODY_BYTES);
    if (!body.ok) return sendJson(res, 400, { error: body.error }, { connection: 'close' });
    if (body.value === null || typeof body.value !== 'object' || Array.isArray(body.value)) {
      return sendJson(res, 400, { error: 'Body must be a JSON object {symbol, price}' });
    }
    const { symbol, price } = body.value as Record<string, unknown>;
    const result = deps.publishPrice(symbol, price);
    if (!result.ok) return sendJson(res, 400, { error: result.error });
    sendJson(res, 200, { topic: priceTopic(result.tick.symbol), ...result.tick });
  };

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

  const routes: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
    '/': { GET: getPage },
    '/healthz': { GET: (_req, res) => sendJson(res, 200, { ok: true }) },
    '/metrics': { GET: getMetrics },
    '/api/prices': { POST: postPrice },
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
