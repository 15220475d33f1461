/**
 * Nodes as real processes on one real Redis, killed with SIGKILL: a client whose node died
 * reconnects to another with its cursors and gets `recovered` and exactly the events it missed;
 * the node evaluating alerts dies and another takes over, firing each alert exactly once.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { until, useCleanups } from '../support/cleanups';
import { clientOf, testRedis, watchAlerts } from '../support/cluster';
import { spawnServerProcess, type ServerProcess } from '../support/server';

useCleanups();

const nodes: ServerProcess[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.dispose();
});

async function spawnNodes(redisUrl: string, count: number): Promise<ServerProcess[]> {
  const started: ServerProcess[] = [];
  // One after the other: the first takes the alert lease.
  for (let i = 0; i < count; i++) {
    const node = await spawnServerProcess({ redisUrl });
    nodes.push(node);
    started.push(node);
  }
  return started;
}

const seqsOf = (events: readonly { seq: number }[]) => events.map((event) => event.seq);

describe('node processes on one Redis, one killed', () => {
  test('kill -9 a node: its client resumes on another with its cursor, recovered, 0 lost, 0 duplicated', async () => {
    const redis = await testRedis();
    const [a, b, c] = await spawnNodes(redis.url, 3);
    const onA = await clientOf(a!);
    await onA.subscribe('feed:dev');
    for (const title of ['1', '2', '3']) await b!.publishNotification('dev', { title, body: '' });
    const last = await onA.untilEvent('feed:dev', 3);
    await a!.kill('SIGKILL');
    await onA.closed;
    for (const title of ['4', '5', '6', '7']) await b!.publishNotification('dev', { title, body: '' });
    const onC = await clientOf(c!);
    const answer = await onC.subscribe('feed:dev', { since: { epoch: last.epoch, seq: 3 } });
    expect(answer).toMatchObject({ t: 'subscribed', recovery: 'recovered', position: { epoch: last.epoch, seq: 7 } });
    await onC.untilEvent('feed:dev', 7);
    await b!.publishNotification('dev', { title: '8', body: '' });
    await onC.untilEvent('feed:dev', 8);
    expect(seqsOf([...onA.events('feed:dev'), ...onC.events('feed:dev')])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('kill -9 the node evaluating alerts: another takes over within seconds, each alert fires exactly once', async () => {
    const redis = await testRedis();
    const [a, b, c] = await spawnNodes(redis.url, 3);
    await b!.publishPrice('KO', 60);
    const client = await clientOf(c!);
    await client.subscribe('feed:dev');
    const live = [a!, b!, c!];
    const { create, tickUntilFired } = watchAlerts(client, 'feed:dev', 'KO', () => live);
    await create(61);
    await tickUntilFired(61.5, 1);

    await a!.kill('SIGKILL');
    live.splice(0, 1);
    await create(63);
    await tickUntilFired(63.5, 2);
    for (const node of live) await node.publishPrice('KO', 70);
    await until('every node fired both alerts', async () => {
      const lists = await Promise.all(live.map((node) => node.alerts('dev')));
      return lists.every((list) => list.filter((alert) => alert.status === 'fired').length === 2);
    });
    const onB = await clientOf(b!);
    await onB.subscribe('feed:dev', { last: 10 });
    await onB.untilEvent('feed:dev', 2);
    expect(seqsOf(onB.events('feed:dev'))).toEqual([1, 2]);
    expect(seqsOf(client.events('feed:dev'))).toEqual([1, 2]);
  });
});
