/**
 * The Redis alert store against real redis-server processes: the `AlertStore` contract (one Redis
 * for the file, a fresh key prefix per test), then what several nodes sharing it rely on. Two
 * store instances are two nodes: the same message id applied by both at once applies exactly once
 * and the other is answered from the record; a decision made against a revision that moved is
 * refused and changes nothing; firing state is written only under the current lease fence; an
 * alert id is one user's. Then durability and outages: an AOF Redis killed with SIGKILL keeps
 * what was applied, and a stopped Redis makes every method reject at once with
 * `StoreUnavailableError` until it is back.
 */
import { createClient } from '@redis/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ServerAlert } from '../../lib/wire/alerts';
import { AlertIdTakenError, DuplicateMessageError, FencedOffError, StaleRevisionError } from '../../server/alerts/store-errors';
import { openRedisAlertStore } from '../../server/alerts/store-redis';
import type { AppliedMessage, SharedAlertStore } from '../../server/alerts/store-types';
import { StoreUnavailableError } from '../../server/common/unavailable';
import { alertStoreContract, heldAlert, keepAll, okAck } from '../support/alert-store-contract';
import { onCleanup, until, useCleanups } from '../support/cleanups';
import { startTestRedis, type TestRedis } from '../support/redis-server';

useCleanups();

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let redis: TestRedis;
let prefixes = 0;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.dispose());

/** A store on the file's Redis, under this test's own prefix unless given one; closed after the test. */
async function node(keyPrefix: string, url = redis.url): Promise<SharedAlertStore> {
  const store = await openRedisAlertStore({ url, keyPrefix, logger });
  onCleanup(() => store.close());
  return store;
}
const freshPrefix = (): string => `t${++prefixes}:`;

/** Sets a key directly, as a lease holder would have. */
async function setKey(key: string, value: string): Promise<void> {
  const client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  await client.connect();
  await client.set(key, value);
  await client.close();
}

describe('redis alert store', () => {
  alertStoreContract(async () => {
    const keyPrefix = freshPrefix();
    return { store: await openRedisAlertStore({ url: redis.url, keyPrefix, logger }), reopen: () => openRedisAlertStore({ url: redis.url, keyPrefix, logger }) };
  });
});

const put = (user: string, messageId: string, alertId: string, at = 1): AppliedMessage => ({
  user,
  messageId,
  at,
  ack: okAck,
  effect: { type: 'put', held: heldAlert(alertId, user) },
});

describe('redis alert store shared by several nodes', () => {
  test('the same message id applied by two nodes at once applies exactly once; the other is refused and answered from the record', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await node(prefix), await node(prefix)];
    for (let i = 0; i < 50; i++) {
      const message = put('alice', `m${i}`, `a${i}`);
      const results = await Promise.allSettled([a.apply(message, keepAll), b.apply({ ...message, effect: { type: 'put', held: heldAlert(`other${i}`) } }, keepAll)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused?.reason).toBeInstanceOf(DuplicateMessageError);
      expect(await a.findAck('alice', `m${i}`)).toEqual(okAck);
      expect(await b.findAck('alice', `m${i}`)).toEqual(okAck);
    }
    // One alert per id: the refused node's effect never landed.
    expect((await a.userAlerts('alice')).alerts).toHaveLength(50);
  });

  test('the revision grows with every change of a user’s alerts; a message decided against an older one is refused and changes nothing', async () => {
    const store = await node(freshPrefix());
    expect(await store.userAlerts('alice')).toEqual({ alerts: [], revision: 0 });
    await store.apply(put('alice', 'm1', 'a1'), keepAll, { ifRevision: 0 });
    const first = await store.userAlerts('alice');
    expect(first).toEqual({ alerts: [heldAlert('a1')], revision: 1 });
    // A record without an effect (an ack that changed nothing) leaves the revision alone.
    await store.apply({ user: 'alice', messageId: 'm2', at: 2, ack: okAck }, keepAll, { ifRevision: 1 });
    expect((await store.userAlerts('alice')).revision).toBe(1);
    // Another node fires the alert: its state is a change too.
    const fired: ServerAlert = { ...heldAlert('a1').alert, status: 'fired', firedAt: 5, firedPrice: 211, fireCount: 1 };
    await store.saveStates([fired]);
    expect(await store.userAlerts('alice')).toEqual({ alerts: [{ ...heldAlert('a1'), alert: fired }], revision: 2 });
    await store.saveStates([fired]);
    expect((await store.userAlerts('alice')).revision).toBe(2);

    const stale = store.apply({ user: 'alice', messageId: 'm3', at: 3, ack: okAck, effect: { type: 'delete', alertId: 'a1' } }, keepAll, { ifRevision: 1 });
    await expect(stale).rejects.toThrow(StaleRevisionError);
    await expect(stale).rejects.toMatchObject({ expected: 1, actual: 2 });
    expect(await store.findAck('alice', 'm3')).toBeUndefined();
    expect(await store.userAlerts('alice')).toEqual({ alerts: [{ ...heldAlert('a1'), alert: fired }], revision: 2 });
    // A repeated id is a duplicate whatever the revision: the record answers it.
    await expect(store.apply({ user: 'alice', messageId: 'm1', at: 3, ack: okAck }, keepAll, { ifRevision: 0 })).rejects.toThrow(DuplicateMessageError);

    await store.apply({ user: 'alice', messageId: 'm3', at: 3, ack: okAck, effect: { type: 'delete', alertId: 'a1' } }, keepAll, { ifRevision: 2 });
    expect(await store.userAlerts('alice')).toEqual({ alerts: [], revision: 3 });
    // Another user's revision is their own.
    expect((await store.userAlerts('bob')).revision).toBe(0);
  });

  test('an alert id is one user’s: another user’s put of it is refused and changes nothing', async () => {
    const store = await node(freshPrefix());
    await store.apply(put('alice', 'm1', 'a1'), keepAll);
    await expect(store.apply(put('bob', 'm1', 'a1'), keepAll)).rejects.toThrow(AlertIdTakenError);
    expect(await store.findAck('bob', 'm1')).toBeUndefined();
    expect(await store.userAlerts('bob')).toEqual({ alerts: [], revision: 0 });
    // Deleting it is no business of bob's either: his delete finds nothing of his.
    await store.apply({ user: 'bob', messageId: 'm2', at: 2, ack: okAck, effect: { type: 'delete', alertId: 'a1' } }, keepAll);
    expect((await store.load()).alerts).toEqual([heldAlert('a1')]);
    // Once alice deletes it, the id is free again.
    await store.apply({ user: 'alice', messageId: 'm2', at: 2, ack: okAck, effect: { type: 'delete', alertId: 'a1' } }, keepAll);
    await store.apply(put('bob', 'm3', 'a1'), keepAll);
    expect((await store.load()).alerts).toEqual([heldAlert('a1', 'bob')]);
  });

  test('saveStates under a fence writes only while the fence is the lease’s current one', async () => {
    const prefix = freshPrefix();
    const store = await node(prefix);
    await store.apply(put('alice', 'm1', 'a1'), keepAll);
    await store.apply(put('bob', 'm1', 'b1'), keepAll);
    const fired = (held: ReturnType<typeof heldAlert>, fireCount: number): ServerAlert => ({ ...held.alert, status: 'fired', firedAt: 7, firedPrice: 220, fireCount });
    // No holder has ever taken the lease: no fence is current.
    await expect(store.saveStates([fired(heldAlert('a1'), 1)], 1)).rejects.toThrow(FencedOffError);

    expect(store.leaseFenceKey).toBe(`${prefix}alert-lease:fence`);
    await setKey(store.leaseFenceKey, '4');
    await store.saveStates([fired(heldAlert('a1'), 1), fired(heldAlert('b1', 'bob'), 1)], 4);
    await setKey(store.leaseFenceKey, '5');
    const refused = store.saveStates([fired(heldAlert('a1'), 2), fired(heldAlert('b1', 'bob'), 2)], 4);
    await expect(refused).rejects.toThrow(FencedOffError);
    await expect(refused).rejects.toMatchObject({ fence: 4, current: 5 });
    expect((await store.load()).alerts.map((h) => [h.alert.id, h.alert.fireCount]).sort()).toEqual([
      ['a1', 1],
      ['b1', 1],
    ]);
    expect((await store.userAlerts('alice')).revision).toBe(2);
  });

  test('load and trimApplied reach every user, across many SCAN batches', async () => {
    const store = await node(freshPrefix());
    const users = Array.from({ length: 1_200 }, (_, i) => `user${i}`);
    await Promise.all(users.map((user, i) => store.apply(put(user, 'old', `alert${i}`, 100), keepAll)));
    await Promise.all(users.slice(0, 10).map((user) => store.apply({ user, messageId: 'new', at: 300, ack: okAck }, keepAll)));
    const { alerts } = await store.load();
    expect(alerts).toHaveLength(users.length);
    expect(new Set(alerts.map((h) => h.user)).size).toBe(users.length);
    expect(await store.trimApplied(200)).toBe(users.length);
    expect(await store.findAck('user0', 'old')).toBeUndefined();
    expect(await store.findAck('user0', 'new')).toEqual(okAck);
    expect(await store.trimApplied(200)).toBe(0);
  });

  test('stores under different prefixes share nothing, even a prefix that reads as a glob', async () => {
    const run = freshPrefix();
    const globby = await node(`${run}*:`);
    const plain = await node(`${run}x:`);
    await globby.apply(put('alice', 'm1', 'a1', 100), keepAll);
    await plain.apply(put('alice', 'm1', 'a2', 100), keepAll);
    expect((await globby.load()).alerts).toEqual([heldAlert('a1')]);
    expect(await globby.trimApplied(200)).toBe(1);
    expect(await plain.findAck('alice', 'm1')).toEqual(okAck);
    expect((await plain.load()).alerts).toEqual([heldAlert('a2')]);
  });

  test('a price older than the one held does not replace it (a late write from another node)', async () => {
    const store = await node(freshPrefix());
    await store.savePrices([{ symbol: 'AAPL', price: 2, at: 20 }]);
    await store.savePrices([{ symbol: 'AAPL', price: 1, at: 10 }]);
    await store.savePrices([{ symbol: 'KO', price: 60.123456789012345, at: 1_733_100_000_000.5 }]);
    expect((await store.load()).prices.sort((x, y) => x.at - y.at)).toEqual([
      { symbol: 'AAPL', price: 2, at: 20 },
      { symbol: 'KO', price: 60.123456789012345, at: 1_733_100_000_000.5 },
    ]);
  });

});

describe('redis alert store durability and outages', () => {
  test('with AOF, what was applied survives kill -9 of Redis', async () => {
    const aof = await startTestRedis({ persistence: 'aof' });
    onCleanup(() => aof.dispose());
    let store = await openRedisAlertStore({ url: aof.url, logger });
    await store.apply(put('alice', 'm1', 'a1'), keepAll);
    await store.savePrices([{ symbol: 'AAPL', price: 200, at: 5 }]);
    await aof.kill();
    await store.close();
    await aof.start();
    store = await node('switchboard:', aof.url);
    expect(await store.findAck('alice', 'm1')).toEqual(okAck);
    expect(await store.load()).toEqual({ alerts: [heldAlert('a1')], prices: [{ symbol: 'AAPL', price: 200, at: 5 }] });
    await expect(store.apply(put('alice', 'm1', 'a2'), keepAll)).rejects.toThrow(DuplicateMessageError);
    expect((await store.userAlerts('alice')).revision).toBe(1);
  });

  test('while Redis is stopped every method rejects with StoreUnavailableError; once it is back the store works again', async () => {
    const own = await startTestRedis({ persistence: 'aof' });
    onCleanup(() => own.dispose());
    const store = await node('switchboard:', own.url);
    await store.apply(put('alice', 'm1', 'a1'), keepAll);
    await own.stop();
    const calls: Array<[string, Promise<unknown>]> = [
      ['load', store.load()],
      ['findAck', store.findAck('alice', 'm1')],
      ['userAlerts', store.userAlerts('alice')],
      ['apply', store.apply(put('alice', 'm2', 'a2'), keepAll)],
      ['saveStates', store.saveStates([heldAlert('a1').alert], 1)],
      ['savePrices', store.savePrices([{ symbol: 'AAPL', price: 1, at: 1 }])],
      ['trimApplied', store.trimApplied(10)],
    ];
    for (const [what, call] of calls) {
      const error = await call.then(
        () => new Error(`${what} resolved while Redis was stopped`),
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message, what).toContain(`Redis at redis://127.0.0.1:${own.port} is unavailable`);
    }
    await own.start();
    await until('the store to work again', async () => {
      try {
        await store.apply(put('alice', 'm2', 'a2'), keepAll);
        return true;
      } catch (error) {
        if (error instanceof StoreUnavailableError) return false;
        throw error;
      }
    });
    expect((await store.userAlerts('alice')).alerts).toHaveLength(2);
  });

  test('opening while Redis is down fails with an error that names it', async () => {
    const own = await startTestRedis();
    onCleanup(() => own.dispose());
    await own.stop();
    await expect(openRedisAlertStore({ url: own.url, logger, connectTimeoutMs: 300 })).rejects.toThrow(`Redis at redis://127.0.0.1:${own.port}`);
  });
});
