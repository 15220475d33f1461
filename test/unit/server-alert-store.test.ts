/**
 * The alert stores (memory and SQLite, by the contract in `test/support/alert-store-contract.ts`,
 * which the Redis store runs too) and the alert service over a memory store with an injected
 * clock: applied ids are forgotten after their retention, and what fired reaches the feed before
 * its state is saved (alerts fired on one tick appended together, so they can share the log's
 * group commit; a failed append reported and not retried).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { newMessageId, type MessageId } from '../../lib/wire/ids';
import type { NotificationData } from '../../lib/wire/notifications';
import { createAlertEngine } from '../../server/alerts/engine';
import { openAlertService, type AlertServiceDeps } from '../../server/alerts/service';
import { createMemoryAlertStore } from '../../server/alerts/store-memory';
import { openSqliteAlertStore } from '../../server/alerts/store-sqlite';
import type { SymbolPrice } from '../../server/alerts/store-types';
import { alertStoreContract } from '../support/alert-store-contract';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-alert-store-'));
  dirs.push(dir);
  return join(dir, 'alerts.sqlite');
}

describe.each([
  ['memory', async () => ({ store: createMemoryAlertStore() })],
  [
    'sqlite',
    async () => {
      const path = tempPath();
      return { store: await openSqliteAlertStore({ path }), reopen: () => openSqliteAlertStore({ path }) };
    },
  ],
] as const)('%s alert store', (_kind, open) => {
  alertStoreContract(open);
});

describe('alert service', () => {
  const DAY = 24 * 3600 * 1000;

  async function service(overrides: Partial<AlertServiceDeps> = {}) {
    let now = 1_000_000;
    const appended: Array<[string, NotificationData]> = [];
    const store = createMemoryAlertStore();
    const engine = createAlertEngine();
    engine.seed('AAPL', 200, now - 1);
    const svc = await openAlertService({
      store,
      engine,
      topic: { publish: () => {} },
      publishEvent: async (topic, data) => void appended.push([topic, data]),
      metrics: { alertsFired: () => {}, alertsExpired: () => {}, alertTickEvaluated: () => {} },
      fits: () => true,
      now: () => now,
      onError: (error) => {
        throw error;
      },
      sweepMs: 3_600_000,
      appliedRetentionMs: 7 * DAY,
      appliedPerUser: 1000,
      ...overrides,
    });
    return { svc, store, engine, appended, advance: (ms: number) => (now += ms), now: () => now };
  }

  test('an applied id is answered from the record for its retention, and forgotten after it', async () => {
    const { svc, advance } = await service();
    const id = newMessageId() as MessageId;
    const body = { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'above', price: 210 } };
    expect((await svc.handle('alice', id, 'alert.create', body)).outcome).toBe('applied');
    advance(7 * DAY - 1);
    await svc.sweep();
    expect((await svc.handle('alice', id, 'alert.create', body)).outcome).toBe('duplicate');
    // Trimmed by the hourly trim after the retention ran out.
    advance(3_600_000);
    await svc.sweep();
    // Forgotten: the id is a new message now, refused because its alert exists.
    expect(await svc.handle('alice', id, 'alert.create', body)).toMatchObject({ outcome: 'refused', ack: { ok: false } });
    await svc.close();
  });

  test('a refused message is not recorded: its id is decided afresh, and once it applies it applies once', async () => {
    const { svc, engine, now } = await service();
    const id = newMessageId() as MessageId;
    const body = { alertId: newMessageId(), rule: { symbol: 'KO', condition: 'above', price: 70 } };
    expect(await svc.handle('alice', id, 'alert.create', body)).toMatchObject({ outcome: 'refused', ack: { ok: false, error: { message: expect.stringMatching(/Unknown symbol KO/) } } });
    engine.seed('KO', 60, now());
    expect(await svc.handle('alice', id, 'alert.create', body)).toMatchObject({ outcome: 'applied', ack: { ok: true } });
    expect(await svc.handle('alice', id, 'alert.create', body)).toMatchObject({ outcome: 'duplicate', ack: { ok: true } });
    expect(svc.list('alice')).toHaveLength(1);
    await svc.close();
  });

  test('a flood of refused ids records nothing', async () => {
    const { svc, store } = await service();
    for (let i = 0; i < 50; i++) {
      const id = newMessageId() as MessageId;
      expect((await svc.handle('mallory', id, 'alert.delete', { alertId: newMessageId() })).outcome).toBe('refused');
      expect(await store.findAck('mallory', id)).toBeUndefined();
    }
    await svc.close();
  });

  test('past appliedPerUser the oldest ids are forgotten; a retried create or delete of a forgotten id changes nothing', async () => {
    const { svc, store } = await service({ appliedPerUser: 3 });
    const alertId = newMessageId();
    const create = newMessageId() as MessageId;
    const createBody = { alertId, rule: { symbol: 'AAPL', condition: 'above', price: 210 } };
    expect((await svc.handle('alice', create, 'alert.create', createBody)).outcome).toBe('applied');
    const pauses: MessageId[] = [];
    for (const paused of [true, false, true]) {
      const id = newMessageId() as MessageId;
      pauses.push(id);
      expect((await svc.handle('alice', id, 'alert.pause', { alertId, paused })).outcome).toBe('applied');
    }
    expect(await store.findAck('alice', create)).toBeUndefined();
    expect(await Promise.all(pauses.map((id) => store.findAck('alice', id)))).toEqual([expect.anything(), expect.anything(), expect.anything()]);
    // The create's record is gone: decided afresh, its alertId is taken, so no second alert.
    expect(await svc.handle('alice', create, 'alert.create', createBody)).toMatchObject({ outcome: 'refused', ack: { error: { message: expect.stringMatching(/already exists/) } } });
    expect(svc.list('alice')).toMatchObject([{ id: alertId, status: 'paused' }]);

    const remove = newMessageId() as MessageId;
    expect((await svc.handle('alice', remove, 'alert.delete', { alertId })).outcome).toBe('applied');
    for (let i = 0; i < 3; i++) await svc.handle('alice', newMessageId() as MessageId, 'alert.create', { alertId: newMessageId(), rule: createBody.rule });
    expect(await store.findAck('alice', remove)).toBeUndefined();
    // The delete's record is gone: decided afresh, its alert is unknown, so nothing else is deleted.
    expect(await svc.handle('alice', remove, 'alert.delete', { alertId })).toMatchObject({ outcome: 'refused' });
    expect(svc.list('alice')).toHaveLength(3);
    await svc.close();
  });

  test('a fired alert is appended to its user’s feed, then its state saved', async () => {
    const { svc, store, appended, now } = await service();
    const alertId = newMessageId();
    await svc.handle('alice', newMessageId() as MessageId, 'alert.create', { alertId, rule: { symbol: 'AAPL', condition: 'above', price: 210 } });
    svc.onTick({ symbol: 'AAPL', price: 211, prev: 200, at: now() });
    expect(svc.list('alice')).toMatchObject([{ status: 'fired' }]);
    await svc.settled();
    expect(appended).toEqual([['feed:alice', expect.objectContaining({ title: 'AAPL above 210', level: 'high', alert: expect.objectContaining({ alertId, price: 211 }) })]]);
    expect((await store.load()).alerts).toMatchObject([{ alert: { id: alertId, status: 'fired', firedPrice: 211 } }]);
    await svc.close();
  });

  test('alerts fired on one tick are appended together; a failed append is reported, not retried, and the states are saved', async () => {
    const calls: Array<{ topic: string; title: string; settle: (ok: boolean) => void }> = [];
    const errors: string[] = [];
    const { svc, store, now } = await service({
      // Held open by the test: the service must not wait for one append before making the next.
      publishEvent: (topic, data) =>
        new Promise((resolve, reject) => calls.push({ topic, title: data.title, settle: (ok) => (ok ? resolve(undefined) : reject(new Error('disk full'))) })),
      onError: (_error, what) => void errors.push(what),
    });
    const rules = [
      ['alice', 210],
      ['bob', 208],
      ['alice', 205],
    ] as const;
    for (const [user, price] of rules) {
      await svc.handle(user, newMessageId() as MessageId, 'alert.create', { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'above', price } });
    }
    svc.onTick({ symbol: 'AAPL', price: 211, prev: 200, at: now() });
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    expect(calls.map((c) => c.topic).sort()).toEqual(['feed:alice', 'feed:alice', 'feed:bob']);
    for (const call of calls) call.settle(call.topic !== 'feed:bob');
    await svc.settled();
    expect(errors).toEqual(['appending a fired alert to the feed']);
    expect(calls).toHaveLength(3);
    expect((await store.load()).alerts.map((a) => a.alert.status)).toEqual(['fired', 'fired', 'fired']);
    await svc.close();
  });

  test('a create that would not fit one alerts:<user> value is refused and stores nothing', async () => {
    const { svc, store } = await service({ fits: (state) => state.alerts.length <= 1 });
    const create = () => svc.handle('alice', newMessageId() as MessageId, 'alert.create', { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'above', price: 210 } });
    expect((await create()).outcome).toBe('applied');
    expect(await create()).toMatchObject({ outcome: 'refused', ack: { ok: false, error: { code: 'invalid' } } });
    expect((await store.load()).alerts).toHaveLength(1);
    await svc.close();
  });

  test("a symbol's first price is saved at once; close saves the last price of every symbol that ticked", async () => {
    const saved: SymbolPrice[] = [];
    const memory = createMemoryAlertStore();
    const { svc } = await service({ store: { ...memory, savePrices: async (prices) => void saved.push(...prices) } });
    svc.onTick({ symbol: 'KO', price: 61, prev: 60, at: 5 });
    await svc.settled();
    expect(saved).toEqual([{ symbol: 'KO', price: 61, at: 5 }]);
    svc.onTick({ symbol: 'KO', price: 62, prev: 61, at: 6 });
    svc.onTick({ symbol: 'KO', price: 63, prev: 62, at: 7 });
    await svc.settled();
    // Later ticks wait for the sweep: one write per tick would be an fsync per tick.
    expect(saved).toHaveLength(1);
    await svc.close();
    expect(saved).toEqual([
      { symbol: 'KO', price: 61, at: 5 },
      { symbol: 'KO', price: 63, at: 7 },
    ]);
    await expect(memory.load()).rejects.toThrow('closed');
  });
});
