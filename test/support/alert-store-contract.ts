/**
 * The `AlertStore` contract, one suite every store runs (memory and SQLite in the unit project,
 * Redis in the integration project against a real redis-server): a message's id and effect commit
 * together or not at all, a repeated id is refused with `DuplicateMessageError` and changes
 * nothing, firing state never resurrects a deleted alert, a user's records are bounded oldest
 * first (the one applied always kept), prices are upserted and old records trimmed. Call
 * `alertStoreContract` inside a `describe`; it registers the tests and closes each store it opened.
 */
import { afterEach, expect, test } from 'vitest';
import type { ServerAlert } from '../../lib/wire/alerts';
import { DuplicateMessageError } from '../../server/alerts/store-errors';
import type { AlertStore } from '../../server/alerts/store-types';
import type { HeldAlert } from '../../server/alerts/types';

export interface OpenedStore<S extends AlertStore = AlertStore> {
  readonly store: S;
  /** Opens the same data again (after `store` is closed); absent for a store that keeps nothing. */
  readonly reopen?: () => Promise<S>;
}

export const heldAlert = (id: string, user = 'alice'): HeldAlert => ({
  user,
  since: 10,
  alert: { id, rule: { symbol: 'AAPL', condition: 'above', price: 210, repeat: 'once' }, status: 'active', createdAt: 10, fireCount: 0 },
});
export const okAck = { ok: true, result: { n: 1 } } as const;
/** Limits that never evict in the tests that are not about them. */
export const keepAll = { perUser: 1000 };

export function alertStoreContract(open: () => Promise<OpenedStore>): void {
  const held = heldAlert;
  const ok = okAck;
  const keep = keepAll;
  let store: AlertStore;
  afterEach(() => store?.close());

  test('apply records the ack and the effect together; load returns them', async () => {
    const opened = await open();
    store = opened.store;
    await store.apply({ user: 'alice', messageId: 'm1', at: 100, ack: ok, effect: { type: 'put', held: held('a1') } }, keep);
    expect(await store.findAck('alice', 'm1')).toEqual(ok);
    expect(await store.findAck('bob', 'm1')).toBeUndefined();
    expect((await store.load()).alerts).toEqual([held('a1')]);
    if (opened.reopen) {
      await store.close();
      store = await opened.reopen();
      expect((await store.load()).alerts).toEqual([held('a1')]);
      expect(await store.findAck('alice', 'm1')).toEqual(ok);
    }
  });

  test('a message id recorded before is refused and its new effect not applied', async () => {
    store = (await open()).store;
    await store.apply({ user: 'alice', messageId: 'm1', at: 100, ack: ok }, keep);
    await expect(store.apply({ user: 'alice', messageId: 'm1', at: 101, ack: ok, effect: { type: 'put', held: held('a2') } }, keep)).rejects.toThrow(
      DuplicateMessageError,
    );
    expect((await store.load()).alerts).toEqual([]);
  });

  test('saveStates writes firing state of existing alerts and never resurrects a deleted one', async () => {
    store = (await open()).store;
    await store.apply({ user: 'alice', messageId: 'm1', at: 1, ack: ok, effect: { type: 'put', held: held('a1') } }, keep);
    await store.apply({ user: 'alice', messageId: 'm2', at: 2, ack: ok, effect: { type: 'put', held: held('a2') } }, keep);
    await store.apply({ user: 'alice', messageId: 'm3', at: 3, ack: ok, effect: { type: 'delete', alertId: 'a2' } }, keep);
    const fired: ServerAlert = { ...held('a1').alert, status: 'fired', firedAt: 50, firedPrice: 211.5, fireCount: 1 };
    await store.saveStates([fired, { ...held('a2').alert, status: 'fired', fireCount: 1 }]);
    expect((await store.load()).alerts).toEqual([{ ...held('a1'), alert: fired }]);
  });

  test('a user keeps at most perUser records: the oldest go first, the one applied stays, other users keep theirs', async () => {
    store = (await open()).store;
    await store.apply({ user: 'bob', messageId: 'b1', at: 1, ack: ok }, { perUser: 2 });
    for (const [i, id] of ['m1', 'm2', 'm3', 'm4'].entries()) await store.apply({ user: 'alice', messageId: id, at: 10 + i, ack: ok }, { perUser: 2 });
    const held = async (user: string, ids: string[]) => (await Promise.all(ids.map((id) => store.findAck(user, id)))).map((ack) => ack !== undefined);
    expect(await held('alice', ['m1', 'm2', 'm3', 'm4'])).toEqual([false, false, true, true]);
    expect(await held('bob', ['b1'])).toEqual([true]);
    // Applied in the same millisecond as older records, the new one is still the one kept.
    await store.apply({ user: 'alice', messageId: 'm5', at: 13, ack: ok }, { perUser: 1 });
    expect(await held('alice', ['m3', 'm4', 'm5'])).toEqual([false, false, true]);
  });

  test('prices are upserted; trimApplied forgets ids older than the cut', async () => {
    store = (await open()).store;
    await store.savePrices([{ symbol: 'AAPL', price: 1, at: 1 }]);
    await store.savePrices([{ symbol: 'AAPL', price: 2, at: 2 }, { symbol: 'KO', price: 3, at: 3 }]);
    expect((await store.load()).prices.sort((a, b) => a.at - b.at)).toEqual([{ symbol: 'AAPL', price: 2, at: 2 }, { symbol: 'KO', price: 3, at: 3 }]);
    await store.apply({ user: 'alice', messageId: 'old', at: 100, ack: ok }, keep);
    await store.apply({ user: 'alice', messageId: 'new', at: 200, ack: ok }, keep);
    expect(await store.trimApplied(150)).toBe(1);
    expect(await store.findAck('alice', 'old')).toBeUndefined();
    expect(await store.findAck('alice', 'new')).toEqual(ok);
  });
}
