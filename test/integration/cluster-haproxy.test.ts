/**
 * README's HAProxy example in front of two node processes on one Redis, with no sticky sessions:
 * a client connected through it whose node is killed comes back through the same address, lands
 * on the other node, and resumes from its cursor with `recovered` and exactly what it missed.
 */
import { afterEach, expect, test } from 'vitest';
import { until, useCleanups } from '../support/cleanups';
import { clientOf, testRedis } from '../support/cluster';
import { startHaproxy } from '../support/haproxy';
import { spawnServerProcess, type ServerProcess } from '../support/server';

useCleanups();

const nodes: ServerProcess[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.dispose();
});

test('through HAProxy: the client’s node is killed, it reconnects through the proxy to the other node and recovers', async () => {
  const redis = await testRedis();
  for (let i = 0; i < 2; i++) nodes.push(await spawnServerProcess({ redisUrl: redis.url }));
  const proxy = await startHaproxy([nodes[0]!.port, nodes[1]!.port]);
  const first = await clientOf(proxy);
  await first.subscribe('news');
  await nodes[0]!.publishNews({ title: '1', body: '' });
  const seen = await first.untilEvent('news', 1);
  // Whichever node HAProxy chose for it dies.
  const counts = await Promise.all(nodes.map((node) => node.metric('switchboard_ws_connections')));
  const mine = nodes[counts[0]! > 0 ? 0 : 1]!;
  const other = nodes[counts[0]! > 0 ? 1 : 0]!;
  await mine.kill('SIGKILL');
  await first.closed;
  await other.publishNews({ title: '2', body: '' });
  await other.publishNews({ title: '3', body: '' });
  const back = await until('a new connection through the proxy', () => clientOf(proxy).catch(() => undefined));
  const answer = await back.subscribe('news', { since: { epoch: seen.epoch, seq: 1 } });
  expect(answer).toMatchObject({ t: 'subscribed', recovery: 'recovered' });
  await back.untilEvent('news', 3);
  expect(back.events('news').map((event) => event.seq)).toEqual([2, 3]);
  expect(await other.metric('switchboard_ws_connections')).toBe(1);
});
