/**
 * The replay loop on a fake log and socket: chunks go out in order up to the head, and between
 * chunks other work queued on the event loop runs first, so one long replay does not hold up the
 * server's other clients.
 */
import { describe, expect, test } from 'vitest';
import type { StoredEvent } from '../../server/event-log/types';
import { readChunk, replay, REPLAY_CHUNK_EVENTS } from '../../server/streams/replay';

const TOPIC = 'news';
const EPOCH = 'e1';
const event = (seq: number): StoredEvent => ({ topic: TOPIC, epoch: EPOCH, seq, at: seq, data: { title: `n${seq}`, body: '', level: 'info' } });

function setup(total: number) {
  const events = Array.from({ length: total }, (_, i) => event(i + 1));
  const timeline: string[] = [];
  const log = {
    readAfter: async (_topic: string, after: { seq: number }, limit: number) => {
      timeline.push(`read after ${after.seq}`);
      return events.filter((e) => e.seq > after.seq).slice(0, limit);
    },
  };
  const sent: number[] = [];
  const out = {
    sendEvents: async (chunk: readonly StoredEvent[]) => void sent.push(...chunk.map((e) => e.seq)),
    bufferedAmount: () => 0,
  };
  const deps = { log, out, metrics: { eventsReplayed: () => {} }, limits: { maxBufferedBytes: 1 << 20, drainTimeoutMs: 1000 } };
  const head = { epoch: EPOCH, seq: total };
  const run = { topic: TOPIC, head, sub: { lastSent: 0 }, current: () => true, onSlow: () => {}, signal: new AbortController().signal };
  return { deps, run, log, head, sent, timeline };
}

describe('replay', () => {
  test('sends every chunk in order up to the head', async () => {
    const { deps, run, log, head, sent } = setup(REPLAY_CHUNK_EVENTS * 2 + 5);
    const first = await readChunk(log, TOPIC, head, 0);
    await expect(replay(deps, run, first)).resolves.toBe('sent');
    expect(sent).toEqual(Array.from({ length: head.seq }, (_, i) => i + 1));
  });

  test("other work queued on the event loop runs before the next chunk is read", async () => {
    const { deps, run, log, head, timeline } = setup(REPLAY_CHUNK_EVENTS * 3);
    const first = await readChunk(log, TOPIC, head, 0);
    timeline.length = 0;
    setImmediate(() => timeline.push('another client'));
    await replay(deps, run, first);
    expect(timeline).toEqual(['another client', `read after ${REPLAY_CHUNK_EVENTS}`, `read after ${REPLAY_CHUNK_EVENTS * 2}`]);
  });

  test('a subscription replaced while it yielded stops without reading on', async () => {
    const { deps, run, log, head, timeline } = setup(REPLAY_CHUNK_EVENTS * 2);
    const first = await readChunk(log, TOPIC, head, 0);
    timeline.length = 0;
    let current = true;
    setImmediate(() => (current = false));
    await expect(replay(deps, { ...run, current: () => current }, first)).resolves.toBe('stopped');
    expect(timeline).toEqual([]);
  });
});
