/**
 * Durability of the embedded store with the server as a real process: an event whose publish was
 * answered survives `kill -9`, also when 50 publishers were publishing at once (group commit) and
 * the crash came in the middle of their burst, and after the restart a cursor from before the crash
 * recovers with the same epoch and seqs, and publishing carries on from there. A store that lost
 * its data (the memory store, or a deleted SQLite file) says `epoch changed` instead of pretending
 * to recover.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { spawnServerProcess, type Published, type ServerProcess } from '../support/server';
import { connectAndGreet } from '../support/ws-client';

let proc: ServerProcess | undefined;
afterEach(async () => {
  await proc?.dispose();
  proc = undefined;
});

const note = (n: number) => ({ title: `Notification ${n}`, body: `body ${n}` });

interface Sent {
  readonly topic: string;
  readonly title: string;
  readonly publisher: number;
  readonly index: number;
  /** Set once the server answered: the event is durable. */
  acked?: Published;
}

test('an acknowledged event survives kill -9; a cursor from before the crash recovers with the same epoch and seqs', async () => {
  proc = await spawnServerProcess();
  const first = await proc.publishNotification('dev', note(1));
  const second = await proc.publishNotification('dev', note(2));
  const third = await proc.publishNotification('dev', note(3));
  expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);
  expect(new Set([first.epoch, second.epoch, third.epoch]).size).toBe(1);

  const exit = await proc.kill('SIGKILL');
  expect(exit.signal).toBe('SIGKILL');
  await proc.restart();

  const after = await proc.publishNotification('dev', note(4));
  expect(after).toEqual({ topic: 'feed:dev', epoch: first.epoch, seq: 4 });
  const { client } = await connectAndGreet(proc.url);
  const subscribed = await client.subscribe('feed:dev', { since: { epoch: first.epoch, seq: 1 }, last: 10 });
  expect(subscribed).toEqual({ t: 'subscribed', topic: 'feed:dev', mode: 'stream', recovery: 'recovered', position: { epoch: first.epoch, seq: 4 }, from: 2 });
  await client.untilEvent('feed:dev', 4);
  expect(client.events('feed:dev').map((e) => [e.epoch, e.seq, e.data])).toEqual([
    [first.epoch, 2, { ...note(2), level: 'info' }],
    [first.epoch, 3, { ...note(3), level: 'info' }],
    [first.epoch, 4, { ...note(4), level: 'info' }],
  ]);
  await client.close();
});

test('50 publishers at once, kill -9 in the middle of the burst: every acknowledged event is there, in order, once', async () => {
  proc = await spawnServerProcess();
  const running = proc;
  const KILL_AFTER = 300;
  const sent: Sent[] = [];
  let acked = 0;
  let crash: Promise<unknown> | undefined;
  // Each publisher publishes one at a time, alternating topics, until its request fails (the crash).
  await Promise.all(
    Array.from({ length: 50 }, async (_, publisher) => {
      for (let index = 0; index < 40; index++) {
        const entry: Sent = { topic: index % 2 ? 'news' : 'feed:dev', title: `p${publisher}-${index}`, publisher, index };
        sent.push(entry);
        const input = { title: entry.title, body: '' };
        try {
          entry.acked = await (entry.topic === 'news' ? running.publishNews(input) : running.publishNotification('dev', input));
        } catch {
          return;
        }
        if (++acked === KILL_AFTER) crash = running.kill('SIGKILL');
      }
    }),
  );
  expect(crash).toBeDefined();
  expect((await crash) as unknown).toMatchObject({ signal: 'SIGKILL' });
  await proc.restart();

  const { client } = await connectAndGreet(proc.url);
  for (const topic of ['feed:dev', 'news']) {
    const mine = sent.filter((s) => s.topic === topic);
    const epoch = mine.find((s) => s.acked)!.acked!.epoch;
    expect(new Set(mine.flatMap((s) => (s.acked ? [s.acked.epoch] : []))).size).toBe(1);
    const subscribed = await client.subscribe(topic, { since: { epoch, seq: 0 } });
    expect(subscribed).toMatchObject({ recovery: 'recovered', position: { epoch } });
    const head = subscribed.t === 'subscribed' ? subscribed.position!.seq : 0;
    if (head > 0) await client.untilEvent(topic, head);
    const stored = client.events(topic);
    // Nothing lost, nothing twice: seqs 1..head, and every acknowledged event at its seq.
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    const titleAt = new Map(stored.map((e) => [e.seq, (e.data as { title: string }).title]));
    for (const s of mine) if (s.acked) expect(titleAt.get(s.acked.seq)).toBe(s.title);
    // What is stored was sent, once; a publish the crash cut off may or may not be there.
    const titles = stored.map((e) => (e.data as { title: string }).title);
    expect(new Set(titles).size).toBe(titles.length);
    const sentTitles = new Set(mine.map((s) => s.title));
    expect(titles.filter((t) => !sentTitles.has(t))).toEqual([]);
    // Each publisher's events in the order it published them.
    for (let publisher = 0; publisher < 50; publisher++) {
      const order = titles.filter((t) => t.startsWith(`p${publisher}-`)).map((t) => Number(t.split('-')[1]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    const next = await (topic === 'news' ? proc.publishNews(note(1)) : proc.publishNotification('dev', note(1)));
    expect(next).toMatchObject({ epoch, seq: head + 1 });
  }
  expect(acked).toBeGreaterThanOrEqual(KILL_AFTER);
  await client.close();
});

test('a deleted SQLite file comes back with a new epoch: the old cursor gets epoch changed', async () => {
  proc = await spawnServerProcess();
  const before = await proc.publishNews(note(1));
  await proc.kill('SIGKILL');
  for (const file of readdirSync(proc.dataDir)) if (file.startsWith('switchboard.sqlite')) rmSync(join(proc.dataDir, file));
  await proc.restart();
  const { client } = await connectAndGreet(proc.url);
  const subscribed = await client.subscribe('news', { since: { epoch: before.epoch, seq: 1 }, last: 10 });
  expect(subscribed).toMatchObject({ recovery: 'epoch changed', position: { seq: 0 } });
  expect(subscribed.t === 'subscribed' && subscribed.position?.epoch).not.toBe(before.epoch);
  await client.close();
});

test('the memory store keeps nothing across a restart and says so with epoch changed', async () => {
  proc = await spawnServerProcess({ store: 'memory' });
  const before = await proc.publishNews(note(1));
  await proc.restart();
  const { client } = await connectAndGreet(proc.url);
  expect(await client.subscribe('news', { since: { epoch: before.epoch, seq: 1 } })).toMatchObject({ recovery: 'epoch changed', position: { seq: 0 } });
  await client.close();
});
