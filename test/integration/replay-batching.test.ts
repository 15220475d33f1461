/**
 * A subscription's events go out in `batch` frames of many events, never one frame per event,
 * whatever the recovery (`recovered`, `trimmed`, `epoch changed`, `fresh`): each frame within the
 * frame size limit (here 8 KiB, so that even the newest 500 need several), each as full as the
 * limit allows unless it ends a chunk of the replay, and the events, across the frames, exactly
 * those the recovery promises, in order.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCodec } from '../../lib/wire/codec';
import type { EventFrame, FrameOf, ServerFrame, StreamPosition } from '../../lib/wire/protocol';
import { REPLAY_CHUNK_EVENTS } from '../../server/streams/topics';
import { startTestServer, type TestServer } from '../support/server';
import { connectAndGreet } from '../support/ws-client';

const MAX_FRAME_BYTES = 8 * 1024;
const KEPT = 2_000;
const PUBLISHED = 2_500;
const codec = createCodec();
/** What a batch frame costs besides its events (`{t: 'batch', frames: [` with the longest array header). */
const BATCH_OVERHEAD = codec.encode({ t: 'batch', frames: [] }).byteLength - 1 + 3;
const size = (frame: ServerFrame | EventFrame) => codec.encode(frame).byteLength;

let server: TestServer;
let epoch: string;
beforeAll(async () => {
  server = await startTestServer({ maxFrameBytes: MAX_FRAME_BYTES, retention: { maxEvents: KEPT } });
  await Promise.all(
    Array.from({ length: PUBLISHED }, (_, i) => server.server.publishEvent('feed:dev', { title: `Notification ${i + 1}`, body: 'x'.repeat(60), level: 'info' })),
  );
  ({ epoch } = await server.server.eventLog.head('feed:dev'));
});
afterAll(() => server.close());

/** Subscribes and collects the frames carrying the topic's events up to the head it announced. */
async function replayOf(since: StreamPosition | undefined, last: number) {
  const { client } = await connectAndGreet(server.url);
  try {
    const subscribed = (await client.subscribe('feed:dev', { ...(since ? { since } : {}), last })) as FrameOf<ServerFrame, 'subscribed'>;
    await client.untilEvent('feed:dev', subscribed.position!.seq);
    const frames = client.received.filter((f) => f.t === 'batch' || f.t === 'event');
    return { subscribed, frames };
  } finally {
    await client.close();
  }
}

const head = { seq: PUBLISHED, firstSeq: PUBLISHED - KEPT + 1 };

describe.each([
  { recovery: 'recovered', since: () => ({ epoch, seq: head.firstSeq + 9 }), last: 0, from: head.firstSeq + 10 },
  { recovery: 'trimmed', since: () => ({ epoch, seq: 3 }), last: 500, from: PUBLISHED - 499 },
  { recovery: 'epoch changed', since: () => ({ epoch: 'an-epoch-long-gone', seq: 40 }), last: 500, from: PUBLISHED - 499 },
  { recovery: 'fresh', since: () => undefined, last: 500, from: PUBLISHED - 499 },
])('$recovery', ({ recovery, since, last, from }) => {
  test('events go out in batch frames within the size limit, each as full as it can be, in order, each once', async () => {
    const { subscribed, frames } = await replayOf(since(), last);
    expect(subscribed).toMatchObject({ recovery, position: { epoch, seq: PUBLISHED }, from });
    expect(frames.every((f) => f.t === 'batch')).toBe(true);
    const batches = frames as Array<FrameOf<ServerFrame, 'batch'>>;
    const events = batches.flatMap((b) => b.frames as EventFrame[]);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: PUBLISHED - from + 1 }, (_, i) => from + i));
    expect(events.every((e) => e.epoch === epoch)).toBe(true);
    // Many events to a frame: far fewer frames than events.
    expect(batches.length).toBeLessThan(events.length / 20);
    for (const [i, batch] of batches.entries()) {
      expect(size(batch)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      const next = batches[i + 1]?.frames[0];
      const lastSeq = (batch.frames.at(-1) as EventFrame).seq;
      // A frame is cut short only where a chunk read from the log ends (or the replay does).
      if (next && (lastSeq - (from - 1)) % REPLAY_CHUNK_EVENTS !== 0) {
        const held = batch.frames.reduce((sum, f) => sum + size(f), BATCH_OVERHEAD);
        expect(held + size(next)).toBeGreaterThan(MAX_FRAME_BYTES);
      }
    }
  });
});
