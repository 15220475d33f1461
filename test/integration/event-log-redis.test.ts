/**
 * The Redis Streams log as several server nodes see it: two or three logs opened on one real
 * `redis-server` (its own per test) act as nodes. Every node's watchers hear every node's appends
 * and resets per topic in seq order, once, also under concurrent appends from all nodes, when the
 * subscriber connections are cut while appends go on, and when Redis restarts empty (a `reset` to
 * the new epoch comes first). Replay and live join without a gap. An unreachable Redis makes calls
 * reject with `StoreUnavailableError` and `available()` false, until it is back. Retention holds
 * exactly across nodes, and with AOF (`appendfsync always`) a `kill -9` loses no acknowledged event
 * and keeps the epoch, while a Redis back from an older RDB snapshot makes every topic start anew.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { NotificationData } from '../../lib/wire/notifications';
import { StoreUnavailableError } from '../../server/common/unavailable';
import { openRedisEventLog, type RedisEventLog, type RedisEventLogOptions } from '../../server/event-log/redis';
import type { LogChange, StoredEvent } from '../../server/event-log/types';
import { poll } from '../support/poll';
import { killSubscribers, redisCommand } from '../support/redis-admin';
import { startTestRedis, type TestRedis } from '../support/redis-server';

const note = (title: string): NotificationData => ({ title, body: '', level: 'info' });
const seqs = (events: readonly { seq: number }[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** What one node's watcher heard, as `event <epoch> <seq>` / `reset <epoch>` per topic. */
function listen(log: RedisEventLog) {
  const changes: LogChange[] = [];
  log.watch((change) => changes.push(change));
  const of = (topic: string) => changes.filter((c) => (c.type === 'event' ? c.event.topic : c.topic) === topic);
  return {
    changes,
    of,
    events: (topic: string): StoredEvent[] => of(topic).flatMap((c) => (c.type === 'event' ? [c.event] : [])),
    /** Waits until the topic's last event heard has `seq`. */
    until: (topic: string, seq: number) =>
      poll(`seq ${seq} of ${topic} (heard ${of(topic).length} changes)`, () => {
        const last = of(topic).at(-1);
        return last?.type === 'event' && last.event.seq >= seq;
      }),
  };
}

let redis: TestRedis;
let logs: RedisEventLog[];
const node = async (options: Partial<RedisEventLogOptions> = {}) => {
  const log = await openRedisEventLog({ url: redis.url, onConnectionError: () => {}, ...options });
  logs.push(log);
  return log;
};

afterEach(async () => {
  for (const log of logs) await log.close();
  await redis.dispose();
});

describe('several nodes on one Redis', () => {
  beforeEach(async () => {
    redis = await startTestRedis();
    logs = [];
  });

  test("a watcher on node B hears node A's and C's appends in seq order, once", async () => {
    const [a, b, c] = [await node(), await node(), await node()];
    const heard = listen(b);
    for (let i = 1; i <= 6; i++) await (i % 2 === 1 ? a : c).append('news', note(`n${i}`));
    await heard.until('news', 6);
    expect(heard.of('news').map((ch) => ch.type)).toEqual(Array(6).fill('event'));
    expect(heard.events('news').map((e) => [e.seq, e.data.title])).toEqual(range(1, 6).map((n) => [n, `n${n}`]));
  });

  test('appendOnce: the same key from two nodes appends one event, and both answer where it went', async () => {
    const [a, b] = [await node(), await node()];
    const heard = listen(b);
    const [first, second] = await Promise.all([a.appendOnce('feed:u', note('fired'), 'alert:x:1'), b.appendOnce('feed:u', note('fired'), 'alert:x:1')]);
    expect(second).toEqual(first);
    const again = await a.appendOnce('feed:u', note('fired'), 'alert:x:1');
    expect(again).toEqual(first);
    const other = await a.appendOnce('feed:u', note('fired again'), 'alert:x:2');
    expect(other.seq).toBe(first.seq + 1);
    await heard.until('feed:u', other.seq);
    expect(seqs(heard.events('feed:u'))).toEqual([1, 2]);
    expect(seqs(await b.readAfter('feed:u', { epoch: first.epoch, seq: 0 }, 10))).toEqual([1, 2]);
  });

  test('concurrent appends from every node to one topic: seqs 1..N, none repeated, each node hears them all in order', async () => {
    const nodes = [await node(), await node(), await node()];
    const heard = nodes.map(listen);
    const perNode = 60;
    const answers = await Promise.all(
      nodes.flatMap((log, n) => Array.from({ length: perNode }, (_, i) => log.append('feed:alice', note(`${n}-${i}`)))),
    );
    const total = nodes.length * perNode;
    expect(seqs(answers).sort((x, y) => x - y)).toEqual(range(1, total));
    expect(new Set(answers.map((a) => a.epoch)).size).toBe(1);
    // Each node's own appends got their seqs in the order it made them.
    for (let n = 0; n < nodes.length; n++) {
      const mine = seqs(answers.slice(n * perNode, (n + 1) * perNode));
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
    }
    for (const h of heard) {
      await h.until('feed:alice', total);
      expect(seqs(h.events('feed:alice'))).toEqual(range(1, total));
    }
    const { epoch } = await nodes[0]!.head('feed:alice');
    const stored = await nodes[1]!.readAfter('feed:alice', { epoch, seq: 0 }, 1_000);
    expect(stored.map((e) => e.data.title).sort()).toEqual(answers.map((_, i) => `${Math.floor(i / perNode)}-${i % perNode}`).sort());
  });

  test("an append resolves only after its own node's watchers heard it, also when another node's events came first", async () => {
    const [a, b] = [await node(), await node()];
    const heardB = listen(b);
    for (let round = 0; round < 20; round++) {
      const fromA = a.append('news', note(`a${round}`));
      const appended = await b.append('news', note(`b${round}`));
      expect(heardB.events('news').some((e) => e.seq === appended.seq)).toBe(true);
      await fromA;
    }
    await heardB.until('news', 40);
    expect(seqs(heardB.events('news'))).toEqual(range(1, 40));
  });

  test('replay and live join without a gap or a duplicate while another node appends', async () => {
    const [a, b] = [await node(), await node()];
    for (let i = 1; i <= 50; i++) await a.append('news', note(`n${i}`));
    // Another node publishes 51..120 meanwhile, letting other I/O in between its appends.
    const publisher = (async () => {
      for (let i = 51; i <= 120; i++) {
        await a.append('news', note(`n${i}`));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
    // The subscribe flow of `server/streams/topics.ts`: watch first and hold, read the head, replay up to it, then go live.
    const held: StoredEvent[] = [];
    const unwatch = b.watch((change) => change.type === 'event' && change.event.topic === 'news' && held.push(change.event));
    const head = await b.head('news');
    const got: number[] = [];
    for (let after = 0; after < head.seq; ) {
      const chunk = (await b.readAfter('news', { epoch: head.epoch, seq: after }, 7)).filter((e) => e.seq <= head.seq);
      got.push(...seqs(chunk));
      after = chunk.at(-1)?.seq ?? head.seq;
    }
    await publisher;
    await poll('the live events', () => held.at(-1)?.seq === 120);
    unwatch();
    got.push(...seqs(held.filter((e) => e.seq > head.seq)));
    expect(got).toEqual(range(1, 120));
  });

  test('resets on one node reach every node before any event of the new epoch', async () => {
    const [a, b] = [await node(), await node()];
    const [heardA, heardB] = [listen(a), listen(b)];
    await a.append('news', note('old'));
    const fresh = await b.reset('news');
    expect(heardB.of('news').at(-1)).toEqual({ type: 'reset', topic: 'news', epoch: fresh.epoch });
    await a.append('news', note('new'));
    for (const h of [heardA, heardB]) {
      await h.until('news', 1);
      await poll('the new epoch', () => h.events('news').at(-1)?.epoch === fresh.epoch);
      expect(h.of('news').slice(-2)).toEqual([
        { type: 'reset', topic: 'news', epoch: fresh.epoch },
        expect.objectContaining({ type: 'event', event: expect.objectContaining({ epoch: fresh.epoch, seq: 1 }) }),
      ]);
    }
  });

  test('subscriber connections cut while appends go on: every node still hears every event once, in order', async () => {
    const [a, b] = [await node(), await node()];
    const [heardA, heardB] = [listen(a), listen(b)];
    await a.append('news', note('n1'));
    await b.append('feed:bob', note('b1'));
    await heardB.until('news', 1);
    let next = 2;
    for (let cut = 0; cut < 3; cut++) {
      expect(await killSubscribers(redis.url)).toBeGreaterThanOrEqual(2);
      // Appended while the subscribers reconnect: nobody is listening on the channel for these.
      for (let i = 0; i < 10; i++, next++) await a.append('news', note(`n${next}`));
    }
    // Nothing is published after the last cut: the catch-up after reconnecting brings the rest.
    for (const h of [heardA, heardB]) {
      await h.until('news', next - 1);
      expect(seqs(h.events('news'))).toEqual(range(1, next - 1));
      expect(h.of('news').every((c) => c.type === 'event')).toBe(true);
    }
    await poll('both nodes reconnected', () => a.available() && b.available());
    await a.append('news', note(`n${next}`));
    await heardB.until('news', next);
    expect(seqs(heardB.events('news'))).toEqual(range(1, next));
  });

  test('a message on the channel that is not a change is reported and ignored', async () => {
    const errors: unknown[] = [];
    const [a, b] = [await node({ onError: () => {} }), await node({ onError: (error) => errors.push(error) })];
    const heard = listen(b);
    await redisCommand(redis.url, ['PUBLISH', 'switchboard:log:changes', '{"type":"event","topic":"news","seq":"x"}']);
    await redisCommand(redis.url, ['PUBLISH', 'switchboard:log:changes', 'not json']);
    await a.append('news', note('n1'));
    await heard.until('news', 1);
    expect(errors.map(String)).toEqual([expect.stringMatching(/malformed/), expect.stringMatching(/malformed/)]);
    expect(seqs(heard.events('news'))).toEqual([1]);
  });

  test('retention by count is exact on every append, whichever node appends', async () => {
    const [a, b] = [await node({ retention: { maxEvents: 3 } }), await node({ retention: { maxEvents: 3 } })];
    for (let i = 1; i <= 7; i++) {
      await (i % 2 ? a : b).append('news', note(`n${i}`));
      expect(Number(await redisCommand(redis.url, ['XLEN', 'switchboard:log:{news}:events']))).toBe(Math.min(i, 3));
    }
    expect(await b.head('news')).toMatchObject({ seq: 7, firstSeq: 5 });
    expect(seqs(await a.newest('news', 10))).toEqual([5, 6, 7]);
  });

  test("retention by age: any node's sweep removes old events of every topic", async () => {
    let t = 100_000;
    const clock = () => t;
    const [a, b] = [await node({ now: clock, retention: { maxAgeMs: 1_000 } }), await node({ now: clock, retention: { maxAgeMs: 1_000 } })];
    await a.append('news', note('n1')); // at 100 000
    await a.append('feed:alice', note('a1')); // at 100 000
    t = 100_600;
    await a.append('news', note('n2')); // at 100 600
    t = 101_300; // cutoff 100 300: n1 and a1 are too old
    expect(await b.trim()).toBe(2);
    expect(await a.head('news')).toMatchObject({ seq: 2, firstSeq: 2 });
    expect(await a.head('feed:alice')).toMatchObject({ seq: 1, firstSeq: 2 });
    expect(await b.trim()).toBe(0);
  });
});

describe('when Redis goes away', () => {
  beforeEach(() => {
    logs = [];
  });

  test('restarted without persistence: the next append starts a new epoch, and watchers hear a reset first', async () => {
    redis = await startTestRedis({ persistence: 'none' });
    const [a, b] = [await node(), await node()];
    const [heardA, heardB] = [listen(a), listen(b)];
    for (let i = 1; i <= 3; i++) await a.append('news', note(`n${i}`));
    await heardB.until('news', 3);
    const before = await b.head('news');

    await redis.stop();
    await redis.start();
    await poll('both nodes reconnected', () => a.available() && b.available());
    const appended = await a.append('news', note('after'));
    expect(appended).toMatchObject({ seq: 1 });
    expect(appended.epoch).not.toBe(before.epoch);
    expect(await b.readAfter('news', { epoch: before.epoch, seq: 0 }, 10)).toEqual([]);
    expect(await b.head('news')).toEqual({ epoch: appended.epoch, seq: 1, firstSeq: 1 });

    for (const h of [heardA, heardB]) {
      await poll('the new epoch', () => h.events('news').at(-1)?.epoch === appended.epoch);
      expect(h.of('news').slice(3)).toEqual([
        { type: 'reset', topic: 'news', epoch: appended.epoch },
        expect.objectContaining({ type: 'event', event: expect.objectContaining({ epoch: appended.epoch, seq: 1 }) }),
      ]);
    }
  });

  test('back from an older snapshot (RDB): topics start new epochs, so a cursor in the lost tail never lands on other events', async () => {
    redis = await startTestRedis({ persistence: 'none' });
    const [a, b] = [await node(), await node()];
    const heardB = listen(b);
    for (let i = 1; i <= 3; i++) await a.append('news', note(`n${i}`));
    await redisCommand(redis.url, ['SAVE']);
    for (let i = 4; i <= 5; i++) await a.append('news', note(`n${i}`)); // the tail the snapshot lacks
    await heardB.until('news', 5);
    const before = await a.head('news');

    await redis.kill();
    await redis.start();
    await poll('both nodes reconnected', () => a.available() && b.available());
    // Redis itself came back with the snapshot's meta: same epoch, seq 3.
    expect(await redisCommand(redis.url, ['HMGET', 'switchboard:log:{news}:meta', 'epoch', 'seq'])).toEqual([before.epoch, '3']);
    const head = await b.head('news');
    expect(head).toEqual({ epoch: expect.any(String), seq: 0, firstSeq: 1 });
    expect(head.epoch).not.toBe(before.epoch);
    expect(await a.readAfter('news', { epoch: before.epoch, seq: 3 }, 10)).toEqual([]);
    expect(await a.append('news', note('after'))).toMatchObject({ epoch: head.epoch, seq: 1 });
    await poll('the new epoch', () => heardB.events('news').at(-1)?.epoch === head.epoch);
    expect(heardB.of('news').slice(5)).toEqual([
      { type: 'reset', topic: 'news', epoch: head.epoch },
      expect.objectContaining({ type: 'event', event: expect.objectContaining({ epoch: head.epoch, seq: 1 }) }),
    ]);
  });

  test('stopped: calls reject with StoreUnavailableError and available() is false; after it starts, the log works again', async () => {
    redis = await startTestRedis();
    const log = await node();
    await log.append('news', note('n1'));
    expect(log.available()).toBe(true);

    await redis.stop();
    await poll('the log to notice', () => !log.available());
    await expect(log.append('news', note('lost'))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(log.append('news', note('lost'))).rejects.toThrow(`Redis at ${redis.url} is unavailable: could not append to news`);
    await expect(log.head('news')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(log.readAfter('news', { epoch: 'e', seq: 0 }, 10)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(log.trim()).rejects.toBeInstanceOf(StoreUnavailableError);

    await redis.start();
    await poll('the log to reconnect', () => log.available());
    expect(await log.append('news', note('back'))).toMatchObject({ seq: 1 });
  });

  test('opening while Redis is unreachable rejects with StoreUnavailableError', async () => {
    redis = await startTestRedis();
    await redis.stop();
    const opening = openRedisEventLog({ url: redis.url, connectTimeoutMs: 300, onConnectionError: () => {} });
    await expect(opening).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(opening).rejects.toThrow(/^Redis at redis:\/\/127\.0\.0\.1:\d+\/? could not be reached within 300 ms \(REDIS_URL\)/);
  });

  test('with AOF (appendfsync always), kill -9 keeps every acknowledged event, with the same epoch', async () => {
    redis = await startTestRedis({ persistence: 'aof' });
    const log = await node();
    const acknowledged: Array<{ seq: number; epoch: string; title: string }> = [];
    let failed = 0;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; failed === 0; i++) {
        const title = `w${w}-${i}`;
        try {
          const { seq, epoch } = await log.append('feed:alice', note(title));
          acknowledged.push({ seq, epoch, title });
        } catch (error) {
          expect(error).toBeInstanceOf(StoreUnavailableError);
          failed += 1;
        }
      }
    });
    await poll('some appends acknowledged', () => acknowledged.length >= 200);
    await redis.kill();
    await Promise.all(writers);
    await redis.start();
    await poll('the log to reconnect', () => log.available());

    const epoch = acknowledged[0]!.epoch;
    expect(new Set(acknowledged.map((a) => a.epoch))).toEqual(new Set([epoch]));
    const head = await log.head('feed:alice');
    expect(head.epoch).toBe(epoch);
    const stored = new Map<number, string>();
    for (let after = 0; after < head.seq; ) {
      const chunk = await log.readAfter('feed:alice', { epoch, seq: after }, 1_000);
      for (const e of chunk) stored.set(e.seq, e.data.title);
      after = chunk.at(-1)?.seq ?? head.seq;
    }
    expect([...stored.keys()]).toEqual(range(1, head.seq));
    for (const a of acknowledged) expect(stored.get(a.seq)).toBe(a.title);
    expect(await log.append('feed:alice', note('after'))).toMatchObject({ epoch, seq: head.seq + 1 });
  });
});
