/**
 * The event log contract, run with the same suite against every store (memory, a real SQLite file
 * with group commit, and with one commit per append, and Redis Streams on a real `redis-server`,
 * emptied between tests): seq grows by one from 1 per topic, also under
 * concurrent appends, replay after a position in order and in chunks, retention by count and by
 * age (injected clock) removing only the oldest, reset starting a new epoch, newest N, watchers,
 * and what survives reopening (SQLite keeps epoch and seqs; a new memory log starts new epochs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { NotificationData } from '../../lib/wire/notifications';
import { createMemoryEventLog } from '../../server/event-log/memory';
import { openRedisEventLog } from '../../server/event-log/redis';
import { openSqliteEventLog } from '../../server/event-log/sqlite';
import type { EventLog, EventLogOptions, LogChange } from '../../server/event-log/types';
import { flushAll } from '../support/redis-admin';
import { startTestRedis, type TestRedis } from '../support/redis-server';

interface StoreCase {
  readonly name: string;
  /** Whether a reopened log still holds what the previous one wrote. */
  readonly durable: boolean;
  /** Opens the store; within one test, SQLite opens the same file every time (and Redis the same server). */
  open(dir: string, options?: EventLogOptions): Promise<EventLog>;
  /** Before each test: the store starts empty. */
  setUp?(): Promise<void>;
}

/** This file's own Redis, started by the first test that needs it and emptied before each. */
let redis: TestRedis | undefined;
const redisUrl = async () => (redis ??= await startTestRedis()).url;
afterAll(async () => {
  await redis?.dispose();
});

const stores: StoreCase[] = [
  { name: 'memory', durable: false, open: async (_dir, options) => createMemoryEventLog(options) },
  { name: 'sqlite', durable: true, open: (dir, options) => openSqliteEventLog({ ...options, path: join(dir, 'log.sqlite') }) },
  // One transaction per append, as before group commit: the baseline of the durable-publish benchmark.
  {
    name: 'sqlite, one commit per append',
    durable: true,
    open: (dir, options) => openSqliteEventLog({ ...options, path: join(dir, 'log.sqlite'), commit: 'each' }),
  },
  {
    name: 'redis',
    durable: true,
    open: async (_dir, options) => openRedisEventLog({ ...options, url: await redisUrl() }),
    setUp: async () => void (await flushAll(await redisUrl())),
  },
];

const note = (n: number): NotificationData => ({ title: `n${n}`, body: `body ${n}`, level: 'info' });
const seqs = (events: readonly { seq: number }[]) => events.map((e) => e.seq);

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, set: (ms: number) => void (t = ms), advance: (ms: number) => void (t += ms) };
}

describe.each(stores)('$name event log', (store) => {
  let dir: string;
  let logs: EventLog[];
  const open = async (options?: EventLogOptions) => {
    const log = await store.open(dir, options);
    logs.push(log);
    return log;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-log-'));
    logs = [];
    await store.setUp?.();
  });
  afterEach(async () => {
    for (const log of logs) await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an unseen topic has an empty head whose epoch holds for the events that follow', async () => {
    const log = await open();
    const empty = await log.head('feed:alice');
    expect(empty).toEqual({ epoch: expect.any(String), seq: 0, firstSeq: 1 });
    expect(empty.epoch.length).toBeGreaterThanOrEqual(8);
    expect((await log.head('feed:alice')).epoch).toBe(empty.epoch);
    const appended = await log.append('feed:alice', note(1));
    expect(appended).toEqual({ topic: 'feed:alice', epoch: empty.epoch, seq: 1, at: expect.any(Number) });
  });

  test('seq grows by exactly one per event, per topic; topics have their own epochs', async () => {
    const clock = manualClock();
    const log = await open({ now: clock.now });
    const a: number[] = [];
    for (let i = 1; i <= 5; i++) {
      clock.advance(10);
      a.push((await log.append('feed:alice', note(i))).seq);
      if (i % 2 === 0) await log.append('news', note(100 + i));
    }
    expect(a).toEqual([1, 2, 3, 4, 5]);
    expect(await log.head('feed:alice')).toMatchObject({ seq: 5, firstSeq: 1 });
    expect(await log.head('news')).toMatchObject({ seq: 2, firstSeq: 1 });
    expect((await log.head('news')).epoch).not.toBe((await log.head('feed:alice')).epoch);
  });

  test('readAfter returns the events after a position, in order, with their data, time and epoch', async () => {
    const clock = manualClock(5_000);
    const log = await open({ now: clock.now });
    const data: NotificationData = { title: '<b>hi</b>', body: 'line\nbreak ✓', level: 'high', url: 'https://example.com/x' };
    for (let i = 1; i <= 4; i++) {
      clock.advance(1);
      await log.append('news', i === 3 ? data : note(i));
    }
    const { epoch } = await log.head('news');
    const events = await log.readAfter('news', { epoch, seq: 1 }, 100);
    expect(seqs(events)).toEqual([2, 3, 4]);
    expect(events[1]).toEqual({ topic: 'news', epoch, seq: 3, at: 5_003, data });
    expect(await log.readAfter('news', { epoch, seq: 4 }, 100)).toEqual([]);
    expect(seqs(await log.readAfter('news', { epoch, seq: 0 }, 2))).toEqual([1, 2]);
  });

  test('a long log reads back whole in chunks, each picking up after the last seq', async () => {
    const log = await open({ retention: { maxEvents: 100_000 } });
    for (let i = 1; i <= 2_500; i++) await log.append('feed:bulk', note(i));
    const { epoch } = await log.head('feed:bulk');
    const all: number[] = [];
    for (let after = 0; ; ) {
      const chunk = await log.readAfter('feed:bulk', { epoch, seq: after }, 1_000);
      if (chunk.length === 0) break;
      all.push(...seqs(chunk));
      after = chunk.at(-1)!.seq;
    }
    expect(all).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
  });

  test('readAfter with another epoch returns nothing', async () => {
    const log = await open();
    await log.append('news', note(1));
    expect(await log.readAfter('news', { epoch: 'not-this-epoch', seq: 0 }, 10)).toEqual([]);
  });

  test('newest N are the latest events, oldest first; asking for more gives what there is', async () => {
    const log = await open();
    for (let i = 1; i <= 6; i++) await log.append('news', note(i));
    expect(seqs(await log.newest('news', 3))).toEqual([4, 5, 6]);
    expect(seqs(await log.newest('news', 50))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await log.newest('news', 0)).toEqual([]);
    expect(await log.newest('feed:nobody', 5)).toEqual([]);
  });

  test('retention by count keeps the newest maxEvents per topic and moves firstSeq', async () => {
    const log = await open({ retention: { maxEvents: 5 } });
    for (let i = 1; i <= 8; i++) await log.append('feed:alice', note(i));
    await log.append('news', note(1));
    const head = await log.head('feed:alice');
    expect(head).toMatchObject({ seq: 8, firstSeq: 4 });
    expect(seqs(await log.readAfter('feed:alice', { epoch: head.epoch, seq: 0 }, 100))).toEqual([4, 5, 6, 7, 8]);
    expect(seqs(await log.newest('feed:alice', 10))).toEqual([4, 5, 6, 7, 8]);
    expect(await log.head('news')).toMatchObject({ seq: 1, firstSeq: 1 });
  });

  test('retention by age removes the oldest events on append and on trim()', async () => {
    const clock = manualClock(10_000);
    const log = await open({ now: clock.now, retention: { maxAgeMs: 1_000 } });
    await log.append('news', note(1)); // at 10 000
    clock.set(10_500);
    await log.append('news', note(2)); // at 10 500
    clock.set(11_000);
    await log.append('news', note(3)); // at 11 000: nothing is older than 10 000 yet
    await log.append('feed:alice', note(1)); // at 11 000
    expect(await log.head('news')).toMatchObject({ seq: 3, firstSeq: 1 });

    clock.set(11_600); // cutoff 10 600: news 1 and 2 are too old
    expect(await log.trim()).toBe(2);
    expect(await log.head('news')).toMatchObject({ seq: 3, firstSeq: 3 });
    expect(await log.head('feed:alice')).toMatchObject({ seq: 1, firstSeq: 1 });

    clock.set(12_100); // cutoff 11 100: appending trims the rest of its own topic
    await log.append('news', note(4));
    expect(await log.head('news')).toMatchObject({ seq: 4, firstSeq: 4 });

    clock.set(20_000);
    expect(await log.trim()).toBe(2);
    const emptied = await log.head('news');
    expect(emptied).toMatchObject({ seq: 4, firstSeq: 5 });
    expect(await log.readAfter('news', { epoch: emptied.epoch, seq: 0 }, 10)).toEqual([]);
  });

  test('a clock stepping back never makes a later event older than an earlier one', async () => {
    const clock = manualClock(50_000);
    const log = await open({ now: clock.now });
    await log.append('news', note(1));
    clock.set(40_000);
    const second = await log.append('news', note(2));
    expect(second.at).toBe(50_000);
  });

  test('reset starts a new epoch at seq 0, forgets the events, and is heard by watchers', async () => {
    const log = await open();
    const changes: LogChange[] = [];
    log.watch((change) => changes.push(change));
    for (let i = 1; i <= 3; i++) await log.append('feed:alice', note(i));
    await log.append('news', note(1));
    const before = await log.head('feed:alice');
    const after = await log.reset('feed:alice');
    expect(after).toEqual({ epoch: expect.any(String), seq: 0, firstSeq: 1 });
    expect(after.epoch).not.toBe(before.epoch);
    expect(await log.head('feed:alice')).toEqual(after);
    expect(await log.readAfter('feed:alice', { epoch: before.epoch, seq: 0 }, 10)).toEqual([]);
    expect(await log.newest('feed:alice', 10)).toEqual([]);
    expect(await log.append('feed:alice', note(4))).toMatchObject({ epoch: after.epoch, seq: 1 });
    expect(await log.head('news')).toMatchObject({ seq: 1 });
    expect(changes.at(-2)).toEqual({ type: 'reset', topic: 'feed:alice', epoch: after.epoch });
  });

  test('watchers hear every append in seq order before append resolves; unwatching stops them', async () => {
    const log = await open();
    const heard: number[] = [];
    const stop = log.watch((change) => {
      if (change.type === 'event') heard.push(change.event.seq);
    });
    for (let i = 1; i <= 3; i++) {
      const appended = await log.append('news', note(i));
      expect(heard.at(-1)).toBe(appended.seq);
    }
    expect(heard).toEqual([1, 2, 3]);
    stop();
    await log.append('news', note(4));
    expect(heard).toEqual([1, 2, 3]);
  });

  test('concurrent appends: every seq once, contiguous per topic, in call order, each heard before it resolves', async () => {
    const log = await open();
    const heard = new Map<string, number[]>();
    log.watch((change) => {
      if (change.type === 'event') heard.set(change.event.topic, [...(heard.get(change.event.topic) ?? []), change.event.seq]);
    });
    const topicsOf = ['news', 'feed:alice', 'feed:bob'];
    // 50 publishers, 6 appends each, none waiting for another: the calls interleave across topics.
    const calls: Array<{ topic: string; title: string; answer: Promise<{ seq: number; heardFirst: boolean }> }> = [];
    await Promise.all(
      Array.from({ length: 50 }, async (_, publisher) => {
        for (let i = 0; i < 6; i++) {
          const topic = topicsOf[(publisher + i) % topicsOf.length]!;
          const title = `p${publisher}-${i}`;
          const answer = log.append(topic, { title, body: '', level: 'info' }).then((a) => ({ seq: a.seq, heardFirst: heard.get(topic)?.includes(a.seq) === true }));
          calls.push({ topic, title, answer });
          if (i % 2 === 1) await answer;
        }
      }),
    );
    const answers = await Promise.all(calls.map((c) => c.answer));
    expect(answers.every((a) => a.heardFirst)).toBe(true);
    for (const topic of topicsOf) {
      const mine = calls.flatMap((c, i) => (c.topic === topic ? [{ title: c.title, seq: answers[i]!.seq }] : []));
      // Sequenced in the order the appends were called, one apart, from 1.
      expect(mine.map((m) => m.seq)).toEqual(mine.map((_, i) => i + 1));
      expect(heard.get(topic)).toEqual(mine.map((_, i) => i + 1));
      const { epoch } = await log.head(topic);
      const stored = await log.readAfter(topic, { epoch, seq: 0 }, 1_000);
      expect(stored.map((e) => [e.seq, e.data.title])).toEqual(mine.map((m) => [m.seq, m.title]));
    }
  });

  test('a watcher that throws does not undo the append nor silence the others', async () => {
    const errors: unknown[] = [];
    const log = await open({ onWatcherError: (error) => errors.push(error) });
    const heard: number[] = [];
    log.watch(() => {
      throw new Error('a broken watcher');
    });
    log.watch((change) => change.type === 'event' && heard.push(change.event.seq));
    expect(await log.append('news', note(1))).toMatchObject({ seq: 1 });
    expect(heard).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect(await log.head('news')).toMatchObject({ seq: 1 });
  });

  test(store.durable ? 'a reopened log keeps epochs, seqs and events' : 'a new log starts new epochs (nothing survived)', async () => {
    const first = await open();
    for (let i = 1; i <= 3; i++) await first.append('feed:alice', note(i));
    const emptyTopic = await first.head('news');
    const before = await first.head('feed:alice');
    await first.close();
    const second = await open();
    const after = await second.head('feed:alice');
    if (store.durable) {
      expect(after).toEqual(before);
      expect((await second.head('news')).epoch).toBe(emptyTopic.epoch);
      expect(seqs(await second.readAfter('feed:alice', { epoch: before.epoch, seq: 1 }, 10))).toEqual([2, 3]);
      expect(await second.append('feed:alice', note(4))).toMatchObject({ epoch: before.epoch, seq: 4 });
    } else {
      expect(after).toMatchObject({ seq: 0, firstSeq: 1 });
      expect(after.epoch).not.toBe(before.epoch);
    }
  });

  test('a closed log refuses further use', async () => {
    const log = await open();
    await log.close();
    await expect(log.append('news', note(1))).rejects.toThrow(/closed/);
    await log.close();
  });
});

test('a deleted SQLite file comes back with new epochs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-log-'));
  try {
    const path = join(dir, 'log.sqlite');
    const first = await openSqliteEventLog({ path });
    await first.append('news', note(1));
    const before = await first.head('news');
    await first.close();
    rmSync(dir, { recursive: true, force: true });
    const second = await openSqliteEventLog({ path });
    const after = await second.head('news');
    await second.close();
    expect(after).toMatchObject({ seq: 0, firstSeq: 1 });
    expect(after.epoch).not.toBe(before.epoch);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
