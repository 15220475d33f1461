/**
 * Durability of the embedded store with the server as a real process: an event whose publish was
 * answered survives `kill -9`, and after the restart a cursor from before the crash recovers with
 * the same epoch and seqs, and publishing carries on from there. A store that lost its data (the
 * memory store, or a deleted SQLite file) says `epoch changed` instead of pretending to recover.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { connectAndGreet } from '../support/ws-client';

let proc: ServerProcess | undefined;
afterEach(async () => {
  await proc?.dispose();
  proc = undefined;
});

const note = (n: number) => ({ title: `Notification ${n}`, body: `body ${n}` });

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
