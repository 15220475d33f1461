/**
 * What both peer servers of the server benchmarks share, so each does the same work as Switchboard
 * around its fan-out: the access-token check (the same HS256 JWT, issuer and audience as
 * Switchboard's, with jose), and the publish routes, `POST /news {title, body}` (a stream event:
 * the peer numbers it, `seq` 1, 2, …) and `POST /price {symbol, price}` (a state value), each
 * answered with JSON once handed to the peer's fan-out.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { jwtVerify } from 'jose';

const secret = new TextEncoder().encode(process.env.PEER_TOKEN_SECRET ?? '');

/** The user of a valid access token, or `null`. */
export async function verifyToken(token: unknown): Promise<string | null> {
  if (typeof token !== 'string') return null;
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: 'switchboard', audience: 'switchboard' });
    return typeof payload.sub === 'string' ? payload.sub : null;
  } catch {
    return null;
  }
}

export interface NewsEvent {
  readonly topic: 'news';
  readonly seq: number;
  readonly data: { readonly title: string; readonly body: string; readonly level: 'info' };
  readonly at: number;
}

export interface PriceState {
  readonly topic: string;
  readonly value: { readonly symbol: string; readonly price: number; readonly prev: number; readonly at: number };
  readonly at: number;
}

export interface PublishHandlers {
  news(event: NewsEvent): void;
  price(state: PriceState): void;
}

function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((done, failed) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => done(JSON.parse(text) as Record<string, unknown>));
    req.on('error', failed);
  });
}

/** An HTTP server with the publish routes; the peer attaches its WebSocket endpoint to it. */
export function createPublishServer(handlers: PublishHandlers): Server {
  let seq = 0;
  const prices = new Map<string, number>();
  return createServer((req, res) => {
    const answer = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.method !== 'POST' || (req.url !== '/news' && req.url !== '/price')) return answer(404, { error: 'not found' });
    body(req).then(
      (input) => {
        const at = Date.now();
        if (req.url === '/news') {
          const event: NewsEvent = { topic: 'news', seq: ++seq, data: { title: String(input.title), body: String(input.body), level: 'info' }, at };
          handlers.news(event);
          return answer(200, { topic: 'news', seq: event.seq });
        }
        const symbol = String(input.symbol);
        const price = Number(input.price);
        const state: PriceState = { topic: `prices:${symbol}`, value: { symbol, price, prev: prices.get(symbol) ?? price, at }, at };
        prices.set(symbol, price);
        handlers.price(state);
        answer(200, state);
      },
      () => answer(400, { error: 'bad body' }),
    );
  });
}

/** Listens on a free port of 127.0.0.1 and prints `listening on <port>` for the bench. */
export function listen(server: Server, name: string): void {
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (typeof address === 'object' && address) console.log(`${name} listening on ${address.port}`);
  });
}
