/**
 * What one abusive client costs a server: Switchboard beside Socket.IO 4, the same two attacks on
 * the same data (`./abuse/data.ts`: 200 prices, 500 news items of ~2 KB), interleaved rounds in one
 * run. Each server is a child process of its own, started afresh for every attack, so the resident
 * memory read from `/proc/<pid>/status` is that server's alone.
 *
 * - **Non-reading subscriber**: signs in, then over and over asks for every price and the newest
 *   500 news items (subscribe, subscribe, unsubscribe, unsubscribe) and never reads an answer, so
 *   whatever the server sends piles up in its buffers.
 * - **Frame flood**: subscribes and unsubscribes one symbol as fast as the socket takes it, reading
 *   everything.
 *
 * Meanwhile a well-behaved client watches one symbol that gets a tick every TICK_MS. Measured over
 * ATTACK_MS: the server's peak RSS above its RSS before the attack, whether and when it closed the
 * attacker, the requests the attacker got out, and the ticks the good client saw.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io as connectSocketIo } from 'socket.io-client';
import WebSocket from 'ws';
import { createCodec } from '../lib/wire/codec';
import { PROTOCOL_VERSION, type ClientFrame } from '../lib/wire/protocol';
import { topics } from '../lib/wire/topics';
import { spawnServerProcess } from '../test/support/server';
import { benchNews, benchPrices, NEWS_COUNT } from './abuse/data';
import { openRawSocket, type RawSocket } from './abuse/raw-socket';
import { median } from './stats';
import type { Row } from './table';

const ROUNDS = Number(process.env.ABUSE_ROUNDS ?? 3);
const ATTACK_MS = 5_000;
const TICK_MS = 100;
const SAMPLE_MS = 50;
const WATCHED = 'S0';
const FLOODED = 'S1';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const codec = createCodec();

type Attack = 'non-reading subscriber' | 'frame flood';

/** One server under attack, as the bench drives it. */
interface Target {
  readonly pid: number;
  /** A signed-in attacker socket. */
  attacker(): Promise<RawSocket>;
  /** The attacker's `n`th request of `attack`. */
  request(socket: RawSocket, attack: Attack, n: number): Promise<void>;
  /** A well-behaved client watching WATCHED; `seen()` counts its ticks. */
  goodClient(): Promise<{ seen(): number; close(): void }>;
  publishTick(price: number): Promise<void>;
  /** False once the server process has exited (crashed). */
  alive(): boolean;
  close(): Promise<void>;
}

/** The process's resident memory, or 0 once it is gone. */
function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const encode = (frame: ClientFrame): Uint8Array => codec.encode(frame).slice();

async function switchboard(): Promise<Target> {
  const server = await spawnServerProcess({ store: 'memory', env: { LOG_LEVEL: 'error' } });
  for (const tick of benchPrices()) await server.publishPrice(tick.symbol, tick.price);
  for (const item of benchNews()) await server.publishNews(item);
  const token = await server.mintToken('abuser');
  const big: ClientFrame[] = [
    { t: 'subscribe', topic: topics.allPrices },
    { t: 'subscribe', topic: topics.news, last: NEWS_COUNT },
    { t: 'unsubscribe', topic: topics.allPrices },
    { t: 'unsubscribe', topic: topics.news },
  ];
  return {
    pid: server.pid()!,
    async attacker() {
      const socket = await openRawSocket(server.port, '/ws');
      await socket.send(encode({ t: 'hello', v: PROTOCOL_VERSION, token }));
      await socket.firstData;
      return socket;
    },
    request(socket, attack, n) {
      if (attack === 'non-reading subscriber') return socket.send(encode(big[n % big.length]!));
      const topic = topics.prices(FLOODED);
      return socket.send(encode(n % 2 === 0 ? { t: 'subscribe', topic } : { t: 'unsubscribe', topic }));
    },
    async goodClient() {
      const ws = new WebSocket(server.wsUrl);
      ws.binaryType = 'arraybuffer';
      let seen = 0;
      await new Promise<void>((opened, failed) => {
        ws.once('error', failed);
        ws.on('message', (data: ArrayBuffer) => {
          const decoded = codec.decodeServerFrame(data);
          if (!decoded.ok) return;
          const frame = decoded.frame;
          if (frame.t === 'welcome') {
            ws.send(encode({ t: 'subscribe', topic: topics.prices(WATCHED) }));
            opened();
          }
          const states = frame.t === 'batch' ? frame.frames : [frame];
          for (const inner of states) if (inner.t === 'state' && inner.topic === topics.prices(WATCHED)) seen += 1;
        });
        ws.once('open', () => ws.send(encode({ t: 'hello', v: PROTOCOL_VERSION, token })));
      });
      return { seen: () => seen, close: () => ws.close() };
    },
    publishTick: async (price) => void (await server.publishPrice(WATCHED, price)),
    alive: () => {
      const pid = server.pid();
      return pid !== undefined && isRunning(pid);
    },
    close: () => server.dispose(),
  };
}

async function socketIo(): Promise<Target> {
  const node = resolve(repoRoot, 'node_modules/.bin/node');
  // Its stderr is dropped: a peer that runs out of memory prints V8's whole report there.
  const child = spawn(node, ['--import', 'tsx', 'bench/abuse/socketio-server.ts'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((ready, failed) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (\d+)/.exec(output);
      if (match) ready(Number(match[1]));
    });
    child.once('exit', () => failed(new Error(`socket.io peer exited:\n${output}`)));
  });
  let running = true;
  const exited = new Promise<void>((done) =>
    child.once('exit', () => {
      running = false;
      done();
    }),
  );
  const engine = '/socket.io/?EIO=4&transport=websocket';
  const emit = (socket: RawSocket, event: string, data: unknown): Promise<void> => socket.send(`42${JSON.stringify([event, data])}`);
  return {
    pid: child.pid!,
    async attacker() {
      const socket = await openRawSocket(port, engine);
      await socket.firstData;
      await socket.send('40');
      return socket;
    },
    request(socket, attack, n) {
      if (attack === 'frame flood') return emit(socket, n % 2 === 0 ? 'subscribe' : 'unsubscribe', { topic: `prices:${FLOODED}` });
      const step = n % 4;
      if (step === 0) return emit(socket, 'subscribe', { topic: 'prices:*' });
      if (step === 1) return emit(socket, 'subscribe', { topic: 'news', last: NEWS_COUNT });
      return emit(socket, 'unsubscribe', { topic: step === 2 ? 'prices:*' : 'news' });
    },
    async goodClient() {
      const client = connectSocketIo(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
      let seen = 0;
      client.on('price', (tick: { symbol: string }) => {
        if (tick.symbol === WATCHED) seen += 1;
      });
      await new Promise<void>((joined) => client.once('snapshot', () => joined()).emit('subscribe', { topic: 'prices:*' }));
      return { seen: () => seen, close: () => client.close() };
    },
    async publishTick(price) {
      await fetch(`http://127.0.0.1:${port}/price`, { method: 'POST', body: JSON.stringify({ symbol: WATCHED, price }) });
    },
    alive: () => running,
    async close() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

interface Outcome {
  readonly growthMb: number;
  /** When the server closed the attacker, ms into the attack; `null`: it never did. */
  readonly closedAtMs: number | null;
  /** The server process died during the attack (out of memory). */
  readonly crashed: boolean;
  readonly requests: number;
  readonly ticksSeen: number;
  readonly ticksSent: number;
}

async function run(start: () => Promise<Target>, attack: Attack): Promise<Outcome> {
  const target = await start();
  try {
    const good = await target.goodClient();
    const socket = await target.attacker();
    if (attack === 'non-reading subscriber') socket.pause();
    const before = rssBytes(target.pid);
    let peak = before;
    const began = performance.now();
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(target.pid))), SAMPLE_MS);
    let ticksSent = 0;
    const ticker = setInterval(() => {
      ticksSent += 1;
      void target.publishTick(100 + ticksSent / 100).catch(() => {});
    }, TICK_MS);
    let closedAtMs: number | null = null;
    let over = false;
    void socket.closed.then(() => {
      if (!over) closedAtMs = performance.now() - began;
    });
    let requests = 0;
    const attacking = (async () => {
      while (!socket.isClosed && performance.now() - began < ATTACK_MS) {
        await target.request(socket, attack, requests);
        requests += 1;
        // Let timers (sampling, ticks) run between bursts; the kernel buffer sets the pace.
        if (requests % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, ATTACK_MS));
    clearInterval(sampler);
    clearInterval(ticker);
    peak = Math.max(peak, rssBytes(target.pid));
    const crashed = !target.alive();
    over = true;
    // A send still waiting for the server to read is given up with the socket.
    socket.destroy();
    await attacking;
    good.close();
    return { growthMb: (peak - before) / 2 ** 20, closedAtMs, crashed, requests, ticksSeen: good.seen(), ticksSent };
  } finally {
    await target.close();
  }
}

export async function abuseRows(): Promise<Row[]> {
  const systems = [
    ['Switchboard', switchboard],
    ['Socket.IO 4 (defaults)', socketIo],
  ] as const;
  const attacks: Attack[] = ['non-reading subscriber', 'frame flood'];
  const outcomes = new Map<string, Outcome[]>();
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const attack of attacks) {
      for (const [name, start] of systems) {
        const key = `${attack}|${name}`;
        outcomes.set(key, [...(outcomes.get(key) ?? []), await run(start, attack)]);
      }
    }
  }
  return attacks.flatMap((attack) =>
    systems.map(([name]) => {
      const runs = outcomes.get(`${attack}|${name}`)!;
      const closed = runs.map((outcome) => outcome.closedAtMs).filter((at): at is number => at !== null);
      const crashes = runs.filter((outcome) => outcome.crashed).length;
      return {
        attack,
        server: name,
        'peak RSS growth MB (median)': median(runs.map((outcome) => outcome.growthMb)),
        'attacker closed': crashes > 0
          ? `server crashed (${crashes} of ${runs.length} runs)`
          : closed.length === runs.length ? `yes, after ${Math.round(median(closed))} ms` : closed.length === 0 ? 'no' : `${closed.length} of ${runs.length} runs`,
        'requests sent (median)': median(runs.map((outcome) => outcome.requests)),
        'good client ticks seen / sent': `${median(runs.map((outcome) => outcome.ticksSeen))} / ${median(runs.map((outcome) => outcome.ticksSent))}`,
      };
    }),
  );
}
