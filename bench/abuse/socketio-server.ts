/**
 * The peer of the abuse bench: a Socket.IO 4 server doing Switchboard's work the way a Socket.IO
 * application would, run as a child process so its memory is its own. It holds the same data
 * (`./data.ts`): `subscribe {topic, last?}` answers `snapshot` with every price (`prices:*`, and
 * joins the prices room), one symbol's (`prices:<SYMBOL>`) or the newest `last` news items (`news`); `unsubscribe` answers
 * `unsubscribed`; `POST /price {symbol, price}` sends a tick to the prices room. Socket.IO's own
 * defaults are left as they are: it bounds what it reads (`maxHttpBufferSize`), not what it queues
 * for a client that does not read.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { benchNews, benchPrices } from './data';

const news = benchNews();
const prices = new Map(benchPrices().map((tick) => [tick.symbol, tick]));

const http = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/price') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  req.on('end', () => {
    const { symbol, price } = JSON.parse(body) as { symbol: string; price: number };
    const tick = { symbol, price, prev: prices.get(symbol)?.price ?? price, at: Date.now() };
    prices.set(symbol, tick);
    io.to('prices').emit('price', tick);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tick));
  });
});

const io = new Server(http, { transports: ['websocket'] });
io.on('connection', (socket) => {
  socket.on('subscribe', (request: { topic?: unknown; last?: unknown }) => {
    if (request?.topic === 'prices:*') {
      void socket.join('prices');
      socket.emit('snapshot', { topic: 'prices:*', items: [...prices.values()] });
    } else if (typeof request?.topic === 'string' && request.topic.startsWith('prices:')) {
      const tick = prices.get(request.topic.slice('prices:'.length));
      socket.emit('snapshot', { topic: request.topic, items: tick ? [tick] : [] });
    } else if (request?.topic === 'news') {
      const last = typeof request.last === 'number' ? Math.min(Math.max(0, request.last), news.length) : 0;
      socket.emit('snapshot', { topic: 'news', items: news.slice(news.length - last) });
    }
  });
  socket.on('unsubscribe', (request: { topic?: unknown }) => {
    if (request?.topic === 'prices:*') void socket.leave('prices');
    socket.emit('unsubscribed', { topic: request?.topic });
  });
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  if (typeof address === 'object' && address) console.log(`socket.io peer listening on ${address.port}`);
});
