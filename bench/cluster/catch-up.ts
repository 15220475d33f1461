/**
 * Recovery across nodes: a client on node A holds `news` and has received one event (published on
 * node B), so it has a cursor; it disconnects, MISSED events are published on B, and it comes back
 * on node C with its cursor (`subscribe {since}`). With one node, A, B and C are that node.
 *
 * Timed: from the moment the new WebSocket is open until the MISSED-th event after the cursor has
 * arrived (`hello`, `subscribe` and the whole replay included). Then one more event is published on
 * A and awaited, so anything sent twice would have arrived before it: the events received must be
 * exactly the cursor's `seq` + 1 … + MISSED + 1, in order, in the cursor's epoch. The client speaks
 * the protocol on a plain `ws` socket in the bench process.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type StreamPosition } from '../../lib/wire/protocol';
import { settle } from '../pacing';
import type { BenchServer } from '../peers/systems';
import { NEWS_BODY } from '../peers/fanout-measure';

export const MISSED = 10_000;
/** Publishes in flight at once while the client is away (the time they take is not measured). */
const PUBLISH_AT_ONCE = 50;
const QUIET_MS = 2_000;
const CAP_MS = 30_000;

export interface CatchUpOutcome {
  /** What `subscribed` said: `recovered`, or why not. */
  readonly recovery: string;
  /** From open until every missed event arrived; `null` if they never all did. */
  readonly ms: number | null;
  /** Missed events received (each counted once). */
  readonly received: number;
  /** Exactly the missed events and the one after, in order, once each, in the cursor's epoch. */
  readonly exact: boolean;
}

interface Frame {
  t: string;
  topic?: string;
  epoch?: string;
  seq?: number;
  recovery?: string;
  frames?: Frame[];
  at?: number;
  code?: string;
  message?: string;
}

interface StreamReader {
  /** When the socket opened (`performance.now()`). */
  readonly openedAt: number;
  /** The `subscribed` answer's `recovery`. */
  readonly recovery: string | undefined;
  close(): void;
}

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/** Signs in on `url`, subscribes `topic` (after `since`, if given) and hands over every event; resolves once subscribed. */
function readStream(url: string, token: string, topic: string, since: StreamPosition | undefined, onEvent: (epoch: string, seq: number) => void): Promise<StreamReader> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let openedAt = 0;
    let wanted = true;
    const send = (frame: unknown): void => ws.send(encoder.encode(frame));
    const fail = (error: Error): void => {
      // After `subscribed` the promise is settled: the missing events then show in the outcome.
      if (wanted) reject(error);
      wanted = false;
      ws.terminate();
    };
    const handle = (frame: Frame): void => {
      switch (frame.t) {
        case 'welcome':
          return send({ t: 'subscribe', topic, ...(since ? { since } : {}) });
        case 'subscribed':
          return resolve({ openedAt, recovery: frame.recovery, close: () => ((wanted = false), ws.terminate()) });
        case 'event':
          if (frame.topic === topic) onEvent(frame.epoch!, frame.seq!);
          return;
        case 'batch':
          for (const inner of frame.frames!) handle(inner);
          return;
        case 'ping':
          return send({ t: 'pong', at: frame.at });
        case 'error':
          return fail(new Error(`error ${frame.code}: ${frame.message}`));
      }
    };
    ws.on('open', () => {
      openedAt = performance.now();
      send({ t: 'hello', v: PROTOCOL_VERSION, token });
    });
    ws.on('message', (data: Buffer) => handle(decoder.decode(data) as Frame));
    ws.on('error', fail);
    ws.on('close', (code) => fail(new Error(`closed ${code}`)));
  });
}

/** Setup steps must succeed; a benchmark that cannot get there has a bug, not a result. */
function must(done: boolean, what: string): void {
  if (!done) throw new Error(`catch-up: gave up waiting for ${what}`);
}

/** Nodes A, B and C are the first three of `nodes`, or the one node. */
export async function measureCatchUp(label: string, nodes: readonly BenchServer[], token: string): Promise<CatchUpOutcome> {
  const [a, b, c] = [0, 1, 2].map((i) => nodes[i % nodes.length]!);
  let cursor: StreamPosition | undefined;
  const before = await readStream(a!.wsUrl, token, 'news', undefined, (epoch, seq) => void (cursor ??= { epoch, seq }));
  try {
    await b!.publishNews('before', NEWS_BODY);
    must(await settle(() => cursor !== undefined, () => 0, QUIET_MS, CAP_MS), 'the first event');
  } finally {
    before.close();
  }
  const from = cursor!;

  for (let i = 0; i < MISSED; i += PUBLISH_AT_ONCE) {
    await Promise.all(Array.from({ length: Math.min(PUBLISH_AT_ONCE, MISSED - i) }, (_, j) => b!.publishNews(`missed ${i + j}`, NEWS_BODY)));
  }

  const seqs: number[] = [];
  let epochs = true;
  let allAt = 0;
  const back = await readStream(c!.wsUrl, token, 'news', from, (epoch, seq) => {
    epochs &&= epoch === from.epoch;
    seqs.push(seq);
    if (allAt === 0 && seqs.length === MISSED) allAt = performance.now();
  });
  try {
    const complete = await settle(() => seqs.length >= MISSED, () => seqs.length, QUIET_MS, CAP_MS);
    const ms = complete ? allAt - back.openedAt : null;
    if (complete) {
      await a!.publishNews('after', NEWS_BODY);
      await settle(() => seqs.length > MISSED && seqs.at(-1)! >= from.seq + MISSED + 1, () => seqs.length, QUIET_MS, CAP_MS);
    }
    const received = new Set(seqs.filter((seq) => seq > from.seq && seq <= from.seq + MISSED)).size;
    const exact = epochs && seqs.length === MISSED + 1 && seqs.every((seq, i) => seq === from.seq + 1 + i);
    process.stderr.write(`  catch-up ${label}: ${back.recovery}, ${received} of ${MISSED} in ${ms === null ? 'never' : `${Math.round(ms)} ms`}${exact ? '' : ', NOT exactly the missed events in order'}\n`);
    return { recovery: back.recovery ?? 'none', ms, received, exact };
  } finally {
    back.close();
  }
}
