/**
 * An HTTP reverse proxy on 127.0.0.1 in front of a server, behaving like the corporate proxies and
 * filters that make the hub fall back to HTTP (issue 13). It forwards plain requests, and can:
 * - refuse WebSocket upgrades (`upgrades: 'refuse'`) with `403 Forbidden`, as a filter that does
 *   not speak WebSocket does, or pipe them through (`'allow'`);
 * - buffer whole responses (`buffering: true`): nothing of a response reaches the client until the
 *   server ended it, then all of it with a `Content-Length`, as an antivirus that scans bodies does;
 * - drop everything (`unplug()`): every open connection is cut and new ones are closed on accept,
 *   until `plug()`;
 * - lose a long-poll answer (`retryNextPoll()`): the next poll answer that carries frames is thrown
 *   away and the poll sent to the server again, as a proxy does that retries an idempotent request
 *   after losing its answer. The client gets the second answer, never knowing about the first.
 * Each mode can change at any time; a change applies to requests and upgrades that come after it.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { listenOnLoopback } from './listen';

export interface HttpProxyMode {
  /** What a WebSocket upgrade gets: `403 Forbidden`, or through to the server. */
  readonly upgrades: 'refuse' | 'allow';
  /** Holds each response until the server ended it. */
  readonly buffering: boolean;
}

export interface HttpProxy {
  /** `http://127.0.0.1:<port>`: use it where the server's URL would go. */
  readonly url: string;
  set(mode: Partial<HttpProxyMode>): void;
  /** Cuts every connection and refuses new ones until `plug()`. */
  unplug(): void;
  plug(): void;
  /** Loses the next poll answer that carries frames, and polls again in its place. */
  retryNextPoll(): void;
  /** What went through so far: upgrades refused and allowed, responses buffered, poll answers lost. */
  counts(): { readonly refused: number; readonly upgraded: number; readonly buffered: number; readonly lost: number };
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): a proxy does not forward them. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

export async function startHttpProxy(target: { readonly port: number }, initial: Partial<HttpProxyMode> = {}): Promise<HttpProxy> {
  let mode: HttpProxyMode = { upgrades: 'allow', buffering: false, ...initial };
  let plugged = true;
  const counts = { refused: 0, upgraded: 0, buffered: 0, lost: 0 };
  let retryPoll = false;
  /** Every socket on either side, so `unplug` can cut them all. */
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    // An upstream socket kept alive comes back for the next request: one listener is enough.
    if (sockets.has(socket)) return;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };

  /** Sends `req` to the server; `again` when it is sent a second time (a poll: no body to pipe). */
  function forward(req: IncomingMessage, res: ServerResponse, again = false): void {
    const upstream = request({
      host: '127.0.0.1',
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...endToEnd(req.headers), host: req.headers.host ?? `127.0.0.1:${target.port}` },
    });
    upstream.on('socket', track);
    const fail = (): void => {
      upstream.destroy();
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    };
    upstream.on('error', fail);
    // A client that goes (a hub aborting its stream) takes its request to the server with it.
    res.on('close', () => upstream.destroy());
    upstream.on('response', (answer: IncomingMessage) => {
      const headers = endToEnd(answer.headers);
      if (retryPoll && req.method === 'GET' && req.url?.endsWith('/poll')) return loseIfFrames(req, res, answer);
      if (!mode.buffering) {
        res.writeHead(answer.statusCode ?? 502, headers);
        res.flushHeaders();
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        counts.buffered += 1;
        const body = Buffer.concat(chunks);
        res.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': String(body.length) }).end(body);
      });
      answer.on('error', fail);
    });
    if (again) upstream.end();
    else req.pipe(upstream);
  }

  /** Reads a poll answer whole: one with frames is lost, and the poll is sent again. */
  function loseIfFrames(req: IncomingMessage, res: ServerResponse, answer: IncomingMessage): void {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      const body = Buffer.concat(chunks);
      const { frames } = JSON.parse(body.toString('utf8')) as { frames: unknown[] };
      if (frames.length > 0) {
        retryPoll = false;
        counts.lost += 1;
        return forward(req, res, true);
      }
      res.writeHead(answer.statusCode ?? 502, { ...endToEnd(answer.headers), 'content-length': String(body.length) }).end(body);
    });
  }

  const server = createServer((req, res) => forward(req, res));

  server.on('connection', (socket: Socket) => {
    if (!plugged) return void socket.destroy();
    track(socket);
  });

  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    if (mode.upgrades === 'refuse') {
      counts.refused += 1;
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 26\r\nconnection: close\r\n\r\nWebSocket is not permitted');
      return;
    }
    counts.upgraded += 1;
    const upstream = connect(target.port, '127.0.0.1');
    track(upstream);
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
    const end = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', end).on('close', end);
    client.on('error', end).on('close', end);
  });

  const port = await listenOnLoopback(server);

  const cutAll = (): void => {
    for (const socket of [...sockets]) socket.destroy();
    sockets.clear();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    set(change) {
      mode = { ...mode, ...change };
    },
    unplug() {
      plugged = false;
      cutAll();
    },
    plug() {
      plugged = true;
    },
    retryNextPoll() {
      retryPoll = true;
    },
    counts: () => ({ ...counts }),
    close() {
      cutAll();
      server.closeAllConnections();
      return new Promise((closed) => server.close(() => closed()));
    },
  };
}
