/**
 * The three servers of the server benchmarks, each a child process of its own, driven the same
 * way: sign in N clients, subscribe them, publish over HTTP, and hand each client's stream events
 * and state values to the bench. Every client is a plain `ws` socket in the bench process speaking
 * the server's own protocol (Switchboard's msgpack frames; Socket.IO's Engine.IO v4 text packets;
 * the raw peer's JSON), so the clients cost the same whichever server they talk to, and none of it
 * lands on a server's CPU.
 *
 * - **Switchboard**: `server/main.ts` as `npm run server` runs it, the SQLite log by default
 *   (`STORE`), limits per address off (every bench client comes from 127.0.0.1, as behind a proxy).
 * - **Socket.IO 4**: `socketio-server.ts`, its defaults, WebSocket transport.
 * - **raw ws**: `ws-server.ts`, the README broadcast.
 * - **Switchboard before**: with `SERVER_BENCH_BASELINE=<another checkout>`, that checkout's server
 *   (e.g. an export of an earlier commit with `node_modules` linked), to compare a change in one run.
 */
import { Agent, request } from 'node:http';
import { Decoder, Encoder } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { signTestToken, spawnServerProcess, TEST_TOKEN_SECRET } from '../../test/support/server';
import { spawnPeer } from './proc';

export type SystemName = 'Switchboard' | 'Socket.IO 4' | 'raw ws' | 'Switchboard before';

/** What a client hands the bench: stream events (the server's `seq`, the publisher's title) and state values. */
export interface ClientHandlers {
  event(seq: number, title: string): void;
  state(topic: string, price: number): void;
  /** The socket closed while the bench still wanted it. */
  lost(reason: string): void;
}

export interface BenchClient {
  close(): void;
}

export interface BenchServer {
  readonly name: SystemName;
  readonly pid: number;
  /** Where its clients connect. */
  readonly wsUrl: string;
  /** Everything the process printed (for the memory probe). */
  output(): string;
  /**
   * A client signed in with `token`, subscribed to every topic in `topics`; resolves once signed in
   * and all are subscribed. `url`: where it connects instead of `wsUrl` (e.g. through a proxy).
   */
  client(token: string, topics: readonly string[], on: ClientHandlers, url?: string): Promise<BenchClient>;
  publishNews(title: string, body: string): Promise<void>;
  publishPrice(symbol: string, price: number): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment for the server process (e.g. `NODE_OPTIONS` for the memory probe). */
  readonly env?: Readonly<Record<string, string>>;
  /** Switchboard's `STORE`. Default `sqlite`, as `npm start`. */
  readonly store?: 'sqlite' | 'memory';
  /** Switchboard's `REDIS_URL`: the node keeps everything in this Redis (`store` is then ignored), one of several nodes on it. */
  readonly redisUrl?: string;
}

/** An access token for `user` that every server here accepts: they all verify with the same secret. */
export const signBenchToken = (user: string): Promise<string> => signTestToken({ sub: user });

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/**
 * A publisher over keep-alive HTTP with agents of its own (a port a killed server used may be
 * reused by the next, whose publisher must not pick up the dead one's pooled connections). Prices
 * go over one connection, one request after the other, so the server takes ticks in the order they
 * were published; news events may overlap (the server numbers them in the order it takes them).
 */
function publisher(base: string): { news(path: string, body: unknown): Promise<void>; price(path: string, body: unknown): Promise<void>; close(): void } {
  const concurrent = new Agent({ keepAlive: true });
  const ordered = new Agent({ keepAlive: true, maxSockets: 1 });
  // A keep-alive socket the server closed for idling just as a request went out on it fails with
  // ECONNRESET before the server read anything (the race Node's docs describe for `reusedSocket`):
  // sent again once, on a new socket. Were it applied twice after all, the bench would count it.
  const post = (agent: Agent, path: string, body: unknown): Promise<void> =>
    postOnce(agent, path, body).catch((error: NodeJS.ErrnoException & { reused?: boolean }) => {
      if (error.reused && error.code === 'ECONNRESET') return postOnce(agent, path, body);
      throw error;
    });
  const postOnce = (agent: Agent, path: string, body: unknown) =>
    new Promise<void>((done, failed) => {
      const payload = JSON.stringify(body);
      const req = request(`${base}${path}`, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: 'Bearer test-admin-token' },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => (res.statusCode === 200 ? done() : failed(new Error(`POST ${path} answered ${res.statusCode}: ${text}`))));
      });
      req.on('error', (error) => failed(Object.assign(error, { reused: req.reusedSocket })));
      req.end(payload);
    });
  return {
    news: (path, body) => post(concurrent, path, body),
    price: (path, body) => post(ordered, path, body),
    close() {
      concurrent.destroy();
      ordered.destroy();
    },
  };
}

/** Opens a `ws` socket and lets `setup` speak the protocol; resolves once `setup` calls `ready`. */
function open(url: string, on: ClientHandlers, setup: (ws: WebSocket, ready: () => void, fail: (error: Error) => void) => void): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let wanted = true;
    let ready = false;
    const client = {
      close() {
        wanted = false;
        ws.terminate();
      },
    };
    const fail = (error: Error) => {
      if (!ready) reject(error);
      else if (wanted) on.lost(error.message);
      wanted = false;
      ws.terminate();
    };
    ws.on('error', fail);
    ws.on('close', (code, reason) => {
      if (wanted) fail(new Error(`closed ${code} ${reason.toString()}`));
    });
    setup(
      ws,
      () => {
        ready = true;
        resolve(client);
      },
      fail,
    );
  });
}

interface SwitchboardFrame {
  t: string;
  seq?: number;
  topic?: string;
  data?: { title: string };
  value?: { price: number };
  frames?: SwitchboardFrame[];
  at?: number;
  code?: string;
  message?: string;
}

async function switchboard(options: StartOptions, spawn = spawnServerProcess, name: SystemName = 'Switchboard'): Promise<BenchServer> {
  const server = await spawn({
    store: options.store ?? 'sqlite',
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    env: { LOG_LEVEL: 'warn', MAX_SOCKETS_PER_ADDRESS: '0', MAX_PENDING_PER_ADDRESS: '0', ...options.env },
  });
  const http = publisher(server.url);
  return {
    name,
    pid: server.pid()!,
    wsUrl: server.wsUrl,
    output: () => server.output(),
    client: (token, topics, on, url = server.wsUrl) =>
      open(url, on, (ws, ready, fail) => {
        let waiting = topics.length;
        const send = (frame: unknown) => ws.send(encoder.encode(frame));
        const handle = (frame: SwitchboardFrame): void => {
          switch (frame.t) {
            case 'event':
              return on.event(frame.seq!, frame.data!.title);
            case 'state':
              return on.state(frame.topic!, frame.value!.price);
            case 'batch':
              for (const inner of frame.frames!) handle(inner);
              return;
            case 'ping':
              return send({ t: 'pong', at: frame.at });
            case 'welcome':
              if (topics.length === 0) return ready();
              for (const topic of topics) send({ t: 'subscribe', topic });
              return;
            case 'subscribed':
              if (--waiting === 0) ready();
              return;
            case 'error':
              return fail(new Error(`error ${frame.code}: ${frame.message}`));
          }
        };
        ws.on('open', () => send({ t: 'hello', v: PROTOCOL_VERSION, token }));
        ws.on('message', (data: Buffer) => handle(decoder.decode(data) as SwitchboardFrame));
      }),
    publishNews: (title, body) => http.news('/api/news', { title, body }),
    publishPrice: (symbol, price) => http.price('/api/prices', { symbol, price }),
    close: () => (http.close(), server.dispose()),
  };
}

interface PeerEvent {
  seq: number;
  topic: string;
  data: { title: string };
  value: { price: number };
}

type ClientSetup = (token: string, topics: readonly string[], on: ClientHandlers) => Parameters<typeof open>[2];

/** A peer server (`script` under bench/peers) whose clients connect at `wsPath` and speak `setup`'s protocol; it publishes on `/news` and `/price`. */
async function peerServer(name: SystemName, script: string, wsPath: string, setup: ClientSetup, options: StartOptions): Promise<BenchServer> {
  const peer = await spawnPeer(script, { PEER_TOKEN_SECRET: TEST_TOKEN_SECRET, ...options.env });
  const http = publisher(peer.url);
  const wsUrl = `ws://127.0.0.1:${peer.port}${wsPath}`;
  return {
    name,
    pid: peer.pid,
    wsUrl,
    output: peer.output,
    client: (token, topics, on, url = wsUrl) => open(url, on, setup(token, topics, on)),
    publishNews: (title, body) => http.news('/news', { title, body }),
    publishPrice: (symbol, price) => http.price('/price', { symbol, price }),
    close: () => (http.close(), peer.close()),
  };
}

const socketIo = (options: StartOptions): Promise<BenchServer> =>
  peerServer('Socket.IO 4', 'socketio-server.ts', '/socket.io/?EIO=4&transport=websocket', (token, topics, on) => (ws, ready, fail) => {
    let waiting = topics.length;
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      // Engine.IO v4 packets: 0 open, 2 ping, 4 message; Socket.IO packets inside: 0 connect, 2 event, 4 connect error.
      if (text === '2') return ws.send('3');
      if (text[0] === '0') return ws.send(`40${JSON.stringify({ token })}`);
      if (text.startsWith('40')) {
        if (topics.length === 0) return ready();
        for (const topic of topics) ws.send(`42${JSON.stringify(['subscribe', { topic }])}`);
        return;
      }
      if (text.startsWith('44')) return fail(new Error(`connect error: ${text}`));
      if (!text.startsWith('42')) return;
      const [name, payload] = JSON.parse(text.slice(2)) as [string, PeerEvent];
      if (name === 'event') on.event(payload.seq, payload.data.title);
      else if (name === 'state') on.state(payload.topic, payload.value.price);
      else if (name === 'subscribed' && --waiting === 0) ready();
    });
  }, options);

const rawWs = (options: StartOptions): Promise<BenchServer> =>
  peerServer('raw ws', 'ws-server.ts', '/ws', (token, topics, on) => (ws, ready) => {
    let waiting = topics.length;
    ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', token })));
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as PeerEvent & { t: string };
      if (frame.t === 'event') on.event(frame.seq, frame.data.title);
      else if (frame.t === 'state') on.state(frame.topic, frame.value.price);
      else if (frame.t === 'welcome' && topics.length === 0) ready();
      else if (frame.t === 'welcome') for (const topic of topics) ws.send(JSON.stringify({ t: 'subscribe', topic }));
      else if (frame.t === 'subscribed' && --waiting === 0) ready();
    });
  }, options);

export const SYSTEMS: Readonly<Record<SystemName, (options: StartOptions) => Promise<BenchServer>>> = {
  Switchboard: (options) => switchboard(options),
  /** Another checkout's server (`SERVER_BENCH_BASELINE=<its directory>`), e.g. before a change, to compare in one run. */
  'Switchboard before': async (options) => {
    const base = process.env.SERVER_BENCH_BASELINE!;
    const mod = (await import(`${base}/test/support/server.ts`)) as { spawnServerProcess: typeof spawnServerProcess };
    return switchboard(options, mod.spawnServerProcess, 'Switchboard before');
  },
  'Socket.IO 4': socketIo,
  'raw ws': rawWs,
};

/** Opens `count` clients, `parallel` at a time; `make(i)` opens the i-th. */
export async function openClients(count: number, make: (i: number) => Promise<BenchClient>, parallel = 50): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  for (let i = 0; i < count; i += parallel) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, j) => make(i + j)))));
  }
  return clients;
}
