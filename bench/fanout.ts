/**
 * Hub decode and fan-out throughput, conflation on and off in the same run. The hub core runs in
 * Node over an in-process socket (no network): after the handshake it receives 50,000 price ticks
 * over 20 symbols as msgpack `batch` frames (10 ticks each, at most one per symbol, as the server
 * packs a flush), 16 frames per task as a socket that read 16 frames in one go hands them over.
 * Ten views hold `prices:*`; each view's `updates()` round-trips its batch through JSON (Chrome's
 * message serialisation) and resolves on the next `setImmediate`, a view across RPC.
 *
 * Timed: from the first frame until the hub has taken every frame and every view is idle. Reported:
 * ticks decoded per second, updates the views were handed (in total, per view, and how many
 * `updates()` calls that took), and whether every view's last price for every symbol is the latest
 * one sent (conflation must drop intermediate values, never the last).
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { createCodec } from '../lib/wire/codec';
import type { TopicUpdate } from '../lib/rpc/hub-api';
import type { PriceTick } from '../lib/wire/prices';
import { PROTOCOL_VERSION, type ServerFrame, type StateFrame } from '../lib/wire/protocol';
import { topics } from '../lib/wire/topics';
import { openHub } from '../worker/core/hub';
import { systemClock, type SocketLike } from '../worker/core/platform';
import type { Row } from './table';

const TICKS = 50_000;
const TICKS_PER_FRAME = 10;
const FRAMES_PER_TASK = 16;
const VIEWS = 10;
const TIMEOUT_MS = 30_000;
const SYMBOLS = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'META', 'NVDA', 'TSLA', 'NFLX', 'AMD', 'INTC', 'IBM', 'ORCL', 'JPM', 'V', 'KO', 'DIS', 'BRK.B', 'BTC-USD', 'ETH-USD', 'SOL-USD'];

const codec = createCodec();
const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The encoded frames and the last price of each symbol; a seeded random walk, the same for both modes. */
function priceFrames(): { frames: ArrayBuffer[]; latest: Map<string, number> } {
  let seed = 42;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const latest = new Map(SYMBOLS.map((symbol, i) => [symbol, 100 + i]));
  const frames: ArrayBuffer[] = [];
  const start = 1_763_900_000_000;
  for (let sent = 0; sent < TICKS; sent += TICKS_PER_FRAME) {
    const offset = Math.floor(random() * SYMBOLS.length);
    const states: StateFrame[] = [];
    for (let i = 0; i < TICKS_PER_FRAME; i++) {
      const symbol = SYMBOLS[(offset + i) % SYMBOLS.length]!;
      const prev = latest.get(symbol)!;
      const price = Math.max(0.01, Math.round((prev + (random() - 0.5)) * 100) / 100);
      latest.set(symbol, price);
      const at = start + sent + i;
      states.push({ t: 'state', topic: topics.prices(symbol), value: { symbol, price, prev, at } satisfies PriceTick, at });
    }
    // `encode` returns a view into a shared buffer: keep an exact copy.
    frames.push(codec.encode({ t: 'batch', frames: states }).slice().buffer);
  }
  return { frames, latest };
}

/** Just enough of a WebSocket for the hub: frames the bench hands to `onmessage`, sends ignored. */
function inProcessSocket(): SocketLike & { deliver(data: ArrayBuffer): void; accept(): void } {
  const socket = {
    binaryType: 'arraybuffer',
    readyState: 0,
    send: () => {},
    close: () => {
      socket.readyState = 3;
    },
    onopen: null as ((event: unknown) => void) | null,
    onmessage: null as ((event: { data: unknown }) => void) | null,
    onclose: null as ((event: { code: number; reason: string }) => void) | null,
    onerror: null as ((event: unknown) => void) | null,
    deliver: (data: ArrayBuffer) => socket.onmessage?.({ data }),
    accept() {
      socket.readyState = 1;
      socket.onopen?.({});
      const welcome: ServerFrame = {
        t: 'welcome',
        v: PROTOCOL_VERSION,
        session: 'bench',
        user: 'bench',
        heartbeatMs: 15_000,
        serverTime: Date.now(),
        maxFrameBytes: 65_536,
      };
      socket.deliver(codec.encode(welcome).slice().buffer);
    },
  };
  return socket;
}

interface View {
  updates: number;
  calls: number;
  inFlight: number;
  readonly last: Map<string, number>;
}

async function run(conflate: boolean, frames: readonly ArrayBuffer[], latest: ReadonlyMap<string, number>): Promise<Row> {
  let socket: ReturnType<typeof inProcessSocket> | null = null;
  let warnings = 0;
  const hub = await openHub(
    {
      openSocket: () => (socket = inProcessSocket()),
      clock: systemClock,
      random: Math.random,
      network: { isOnline: () => true, onChange: () => () => {} },
      settings: { load: async () => ({ serverUrl: 'http://127.0.0.1:1', token: 'bench' }), save: async () => {} },
      indexedDB: new IDBFactory(),
      log: { info: () => {}, warn: () => void warnings++ },
    },
    { conflate },
  );
  if (!socket) throw new Error('the hub opened no socket');
  const live: ReturnType<typeof inProcessSocket> = socket;
  live.accept();
  if (hub.status().s !== 'open') throw new Error(`the hub is ${hub.status().s}, not open`);

  const views: View[] = [];
  for (let i = 0; i < VIEWS; i++) {
    const view: View = { updates: 0, calls: 0, inFlight: 0, last: new Map() };
    views.push(view);
    const session = hub.openSession();
    await session.listen({
      status: () => {},
      updates: async (batch: readonly TopicUpdate[]) => {
        view.calls++;
        view.inFlight++;
        for (const update of JSON.parse(JSON.stringify(batch)) as TopicUpdate[]) {
          if (update.kind !== 'state') continue;
          view.updates++;
          const tick = update.value as PriceTick;
          view.last.set(tick.symbol, tick.price);
        }
        await nextTask();
        view.inFlight--;
      },
    });
    await session.subscribe([topics.allPrices]);
  }

  const started = performance.now();
  for (let i = 0; i < frames.length; i += FRAMES_PER_TASK) {
    await nextTask();
    for (const frame of frames.slice(i, i + FRAMES_PER_TASK)) live.deliver(frame);
  }
  const consumed = performance.now() - started;
  while (views.some((view) => view.inFlight > 0)) {
    await nextTask();
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`views still busy after ${TIMEOUT_MS} ms`);
  }
  const ms = performance.now() - started;
  await hub.idle();
  hub.close();

  const delivered = views.reduce((sum, view) => sum + view.updates, 0);
  const latestSeen = views.every((view) => [...latest].every(([symbol, price]) => view.last.get(symbol) === price));
  if (warnings > 0) console.warn(`fan-out (conflate ${conflate}): the hub logged ${warnings} warnings`);
  return {
    conflation: conflate ? 'on' : 'off',
    ticks: TICKS,
    'frames consumed ms': consumed,
    'views idle ms': ms,
    'ticks/s': Math.round(TICKS / (ms / 1000)),
    'updates delivered': delivered,
    'per view': delivered / VIEWS,
    'updates() calls per view': views.reduce((sum, view) => sum + view.calls, 0) / VIEWS,
    'latest value seen': latestSeen ? 'yes' : 'no',
  };
}

export async function fanoutRows(): Promise<Row[]> {
  const { frames, latest } = priceFrames();
  // One unmeasured pass first, so neither mode pays for the JIT warming up.
  await run(true, frames.slice(0, 500), latest);
  return [await run(true, frames, latest), await run(false, frames, latest)];
}
