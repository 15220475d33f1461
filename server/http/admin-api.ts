/**
 * The admin HTTP API (`Authorization: Bearer ADMIN_TOKEN`, JSON bodies): publish a price, mint an
 * access token, publish a notification to a user's feed or to `news`, reset a stream topic to a new
 * epoch, list a user's price alerts as the server holds them. Every input is validated before
 * anything changes; a refusal is a 400 (401 without the admin token) whose `error` says what is
 * wrong. A publish answers only once the event is durable, and never carries the engine-only `alert`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerAlert } from '../../lib/wire/alerts';
import { isUserName } from '../../lib/wire/ids';
import { parseNotification, type NotificationData } from '../../lib/wire/notifications';
import { streamTopic, topics } from '../../lib/wire/topics';
import { isAdminRequest } from '../auth/checks';
import { MAX_TOKEN_TTL_SECONDS, isTokenTtl, type MintedToken } from '../auth/tokens';
import { describe as describeValue, isFields, type Fields } from '../common/untrusted';
import type { Appended, TopicHead } from '../event-log/types';
import type { PublishResult } from '../prices/book';
import { readJsonBody, sendJson, type Handler, type Routes } from './body';

/** Admin request bodies are a few fields; 16 KiB is generous and bounds what a request can cost. */
export const MAX_ADMIN_BODY_BYTES = 16 * 1024;

export interface AdminApiDeps {
  readonly adminToken: string;
  readonly publishPrice: (symbol: unknown, price: unknown) => PublishResult;
  /** Appends to a stream topic's log; resolves once durable. */
  readonly publishEvent: (topic: string, data: NotificationData) => Promise<Appended>;
  readonly resetTopic: (topic: string) => Promise<TopicHead>;
  readonly mintToken: (user: string, ttlSeconds?: number) => Promise<MintedToken>;
  /** A user's alerts, newest first. */
  readonly listAlerts: (user: string) => readonly ServerAlert[];
}

type AdminHandler = (fields: Fields, res: ServerResponse) => void | Promise<void>;

const describe = (value: unknown): string => describeValue(value, 70);

const badUser = (user: unknown) => `Invalid user ${describe(user)}: use 1-64 of A-Z, a-z, 0-9, "_", ".", "@" and "-"`;

export function createAdminRoutes(deps: AdminApiDeps): Routes {
  /** Answers 401 unless the request carries the admin token; the body is not read (the router closes the connection instead). */
  function authorized(req: IncomingMessage, res: ServerResponse): boolean {
    if (isAdminRequest(req.headers.authorization, deps.adminToken)) return true;
    sendJson(res, 401, { error: 'Missing or wrong admin token: send Authorization: Bearer <ADMIN_TOKEN>' }, {
      'www-authenticate': 'Bearer realm="switchboard-admin"',
    });
    return false;
  }

  /** Admin auth, then the query string's parameters, then `handle` (for GETs, which have no body). */
  const adminQuery =
    (handle: (query: URLSearchParams, res: ServerResponse) => void): Handler =>
    (req, res) => {
      if (!authorized(req, res)) return;
      req.resume();
      handle(new URL(req.url ?? '/', 'http://localhost').searchParams, res);
    };

  /** Admin auth, then a JSON object body, then `handle`. */
  const admin =
    (shape: string, handle: AdminHandler): Handler =>
    async (req, res) => {
      if (!authorized(req, res)) return;
      const body = await readJsonBody(req, MAX_ADMIN_BODY_BYTES);
      if (!body.ok) return sendJson(res, 400, { error: body.error }, { connection: 'close' });
      if (!isFields(body.value)) return sendJson(res, 400, { error: `Body must be a JSON object ${shape}` });
      await handle(body.value, res);
    };

  async function publish(res: ServerResponse, topic: string, input: Fields): Promise<void> {
    // `alert` marks a fired price alert (the overlay shows it as one); only the engine may say so.
    if ('alert' in input) {
      return sendJson(res, 400, { error: 'Invalid notification: the field alert is set only by the alert engine, for alerts that fired; publish without it' });
    }
    const parsed = parseNotification(input);
    if (!parsed.ok) return sendJson(res, 400, { error: `Invalid notification: ${parsed.error}` });
    const { epoch, seq } = await deps.publishEvent(topic, parsed.value);
    sendJson(res, 200, { topic, epoch, seq });
  }

  return {
    '/api/prices': {
      POST: admin('{symbol, price}', async ({ symbol, price }, res) => {
        const result = deps.publishPrice(symbol, price);
        if (!result.ok) return sendJson(res, 400, { error: result.error });
        // Through Redis, answered once every node has it (a StoreUnavailableError is a 503).
        const tick = result.sent ? await result.sent : result.tick;
        sendJson(res, 200, { topic: topics.prices(tick.symbol), ...tick });
      }),
    },
    '/api/tokens': {
      POST: admin('{user, ttlSeconds?}', async ({ user, ttlSeconds }, res) => {
        if (!isUserName(user)) return sendJson(res, 400, { error: badUser(user) });
        if (ttlSeconds !== undefined && !isTokenTtl(ttlSeconds)) {
          return sendJson(res, 400, { error: `Invalid ttlSeconds ${describe(ttlSeconds)}: whole seconds from 1 to ${MAX_TOKEN_TTL_SECONDS}` });
        }
        sendJson(res, 200, await deps.mintToken(user, ttlSeconds));
      }),
    },
    '/api/notifications': {
      POST: admin('{user, title, body, level?, url?}', ({ user, ...notification }, res) => {
        if (!isUserName(user)) return sendJson(res, 400, { error: badUser(user) });
        return publish(res, topics.feed(user), notification);
      }),
    },
    '/api/news': {
      POST: admin('{title, body, level?, url?}', (notification, res) => publish(res, topics.news, notification)),
    },
    '/api/alerts': {
      GET: adminQuery((query, res) => {
        const user = query.get('user') ?? undefined;
        if (!isUserName(user)) return sendJson(res, 400, { error: `${badUser(user)} (GET /api/alerts?user=<user>)` });
        sendJson(res, 200, { user, alerts: deps.listAlerts(user) });
      }),
    },
    '/api/topics/reset': {
      POST: admin('{topic}', async ({ topic }, res) => {
        const id = streamTopic(topic);
        if (id === null) {
          return sendJson(res, 400, { error: `Invalid topic ${describe(topic)}: only stream topics (feed:<user>, news) have a log to reset` });
        }
        const head = await deps.resetTopic(id);
        sendJson(res, 200, { topic: id, epoch: head.epoch });
      }),
    },
  };
}
