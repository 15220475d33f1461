/**
 * The alert lease against a real redis-server: several holders on one Redis, each reaching it
 * through its own TCP proxy so a test can cut one off (a dead or partitioned node). Every
 * `onChange` goes into one journal, and the journal must never show two tenures at once, nor a
 * new tenure whose fence is not larger than every earlier one. A holder cut off stops holding and
 * another takes over with a larger fence, under which the store refuses the old holder's writes;
 * `close()` hands the lease over at once; a Redis that stops ends the tenure, and one that comes
 * back with its data (AOF) goes on counting fences where it was.
 */
import { createClient } from '@redis/client';
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ServerAlert } from '../../lib/wire/alerts';
import { FencedOffError } from '../../server/alerts/store-errors';
import { openRedisAlertStore } from '../../server/alerts/store-redis';
import { openLease, type Lease } from '../../server/redis/lease';
import { heldAlert, keepAll, okAck } from '../support/alert-store-contract';
import { onCleanup, until, useCleanups } from '../support/cleanups';
import { startTestRedis, type TestRedis } from '../support/redis-server';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

useCleanups();

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Short, so a takeover takes a second; renewals every 200 ms. */
const TTL_MS = 600;

let redis: TestRedis;
let prefixes = 0;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.dispose());

interface Change {
  readonly who: string;
  readonly holding: boolean;
  readonly fence: number;
}

interface Holder {
  readonly name: string;
  readonly lease: Lease;
  readonly proxy: TcpProxy;
}

/** The keys of a fresh alert store, so each test has a lease of its own. */
async function freshStore(url = redis.url) {
  const store = await openRedisAlertStore({ url, keyPrefix: `lease${++prefixes}:`, logger });
  onCleanup(() => store.close());
  return store;
}

/** Opens holders of one lease, journaling their changes, and checks the journal after the test. */
function leaseGroup(keys: { readonly leaseKey: string; readonly leaseFenceKey: string }, target: TestRedis = redis) {
  const journal: Change[] = [];
  onCleanup(() => expectOneTenureAtATime(journal));
  const holders: Holder[] = [];
  return {
    journal,
    holders,
    async add(name: string): Promise<Holder> {
      const proxy = await startTcpProxy({ port: target.port });
      const lease = await openLease({
        url: `redis://127.0.0.1:${proxy.port}`,
        key: keys.leaseKey,
        fenceKey: keys.leaseFenceKey,
        ttlMs: TTL_MS,
        logger,
        onChange: (holding, fence) => journal.push({ who: name, holding, fence }),
      });
      onCleanup(async () => {
        await lease.close();
        await proxy.close();
      });
      const holder = { name, lease, proxy };
      holders.push(holder);
      return holder;
    },
    /** Waits until exactly one holder holds, other than `not`; resolves with it. */
    holder(not?: Holder): Promise<Holder> {
      return until(`one holder other than ${not?.name ?? 'none'}`, () => {
        const holding = holders.filter((h) => h.lease.fence() !== undefined);
        return holding.length === 1 && holding[0] !== not && holding[0];
      });
    },
  };
}

/**
 * Replays the journal: at most one tenure at a time, each new one with a larger fence than any
 * before, except that the last holder may resume its own tenure when its key never lapsed.
 */
function expectOneTenureAtATime(journal: readonly Change[]): void {
  let current: Change | undefined;
  let last: Change | undefined;
  for (const change of journal) {
    if (change.holding) {
      expect(current, `${change.who} began a tenure while ${current?.who} held one`).toBeUndefined();
      if (last?.who !== change.who || last.fence !== change.fence) expect(change.fence).toBeGreaterThan(last?.fence ?? 0);
      current = change;
      last = change;
    } else {
      expect(change).toEqual({ ...current, holding: false });
      current = undefined;
    }
  }
}

const fired = (fireCount: number): ServerAlert => ({ ...heldAlert('a1').alert, status: 'fired', firedAt: 9, firedPrice: 220, fireCount });

test('of three holders one holds; cut off, it stops holding, another takes over with a larger fence, and the old fence is refused', async () => {
  const store = await freshStore();
  await store.apply({ user: 'alice', messageId: 'm1', at: 1, ack: okAck, effect: { type: 'put', held: heldAlert('a1') } }, keepAll);
  const group = leaseGroup(store);
  for (const name of ['A', 'B', 'C']) await group.add(name);
  const first = await group.holder();
  const oldFence = first.lease.fence()!;
  await store.saveStates([fired(1)], oldFence);

  first.proxy.unplug();
  const second = await group.holder(first);
  const newFence = second.lease.fence()!;
  expect(newFence).toBeGreaterThan(oldFence);
  expect(group.journal).toContainEqual({ who: first.name, holding: false, fence: oldFence });

  // The old holder, still running, writes what it fired: refused, nothing written.
  await expect(store.saveStates([fired(2)], oldFence)).rejects.toThrow(FencedOffError);
  expect((await store.userAlerts('alice')).alerts[0]?.alert.fireCount).toBe(1);
  await store.saveStates([fired(2)], newFence);
  expect((await store.userAlerts('alice')).alerts[0]?.alert.fireCount).toBe(2);

  // Back on the network, the old holder does not take the lease from the new one; once the new
  // one closes, someone takes over with a larger fence still.
  first.proxy.plug();
  await second.lease.close();
  const third = await group.holder(second);
  expect(third.lease.fence()).toBeGreaterThan(newFence);
});

test('close() releases the lease: the next holder takes it on its next attempt, with a larger fence', async () => {
  const store = await freshStore();
  const group = leaseGroup(store);
  const a = await group.add('A');
  const fence = await until('A to hold', () => a.lease.fence());
  const b = await group.add('B');
  await a.lease.close();
  expect(group.journal.at(-1)).toEqual({ who: 'A', holding: false, fence });
  expect(a.lease.fence()).toBeUndefined();
  await group.holder(a);
  expect(b.lease.fence()).toBe(fence + 1);
});

test('a holder whose Redis stops stops holding; when Redis is back with its data the fences go on from where they were', async () => {
  const aof = await startTestRedis({ persistence: 'aof' });
  onCleanup(() => aof.dispose());
  const store = await freshStore(aof.url);
  // As if 41 tenures had come and gone: a Redis that lost its data would start again from 1.
  const client = createClient({ url: aof.url });
  client.on('error', () => undefined);
  await client.connect();
  await client.set(store.leaseFenceKey, '41');
  await client.close();
  const group = leaseGroup(store, aof);
  const a = await group.add('A');
  await group.add('B');
  const first = await group.holder();
  const fence = first.lease.fence()!;
  await aof.stop();
  await until('no holder while Redis is stopped', () => group.holders.every((h) => h.lease.fence() === undefined));
  expect(group.journal.at(-1)).toEqual({ who: first.name, holding: false, fence });
  await aof.start();
  const next = await group.holder();
  expect(fence).toBe(42);
  // The same fence only if the same holder resumes a key that never lapsed; the journal checks that.
  expect(next.lease.fence()).toBeGreaterThanOrEqual(fence);
  expect([a.name, 'B']).toContain(next.name);
});
