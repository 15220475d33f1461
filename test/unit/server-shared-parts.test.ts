/**
 * Small parts of running several nodes, with fakes: an engine brought in line with a shared
 * store's alerts (only what changed is put again; a stored alert whose keys come in another order
 * is the same alert), and a failed start-up closing what it had opened, newest first.
 */
import { describe, expect, test } from 'vitest';
import type { ServerAlert } from '../../lib/wire/alerts';
import { createAlertEngine } from '../../server/alerts/engine';
import { syncAll, syncUser } from '../../server/alerts/shared-sync';
import type { HeldAlert } from '../../server/alerts/types';
import { createStartUp } from '../../server/common/start-up';

const alert = (id: string, status: ServerAlert['status'] = 'active'): ServerAlert => ({
  id,
  rule: { symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' },
  status,
  createdAt: 1_000,
  fireCount: 0,
});
const held = (user: string, id: string, status?: ServerAlert['status']): HeldAlert => ({ user, alert: alert(id, status), since: 1_000 });

describe('syncUser / syncAll', () => {
  test('puts what is new or changed, removes what the store no longer has, and reports whether anything changed', () => {
    const engine = createAlertEngine();
    engine.put(held('ann', 'a1'));
    engine.put(held('ann', 'a2'));
    expect(syncUser(engine, 'ann', [held('ann', 'a1'), held('ann', 'a3')])).toBe(true);
    expect(engine.list('ann').map((a) => a.id).sort()).toEqual(['a1', 'a3']);
    expect(syncUser(engine, 'ann', [held('ann', 'a1'), held('ann', 'a3')])).toBe(false);
    expect(syncUser(engine, 'ann', [held('ann', 'a1', 'fired'), held('ann', 'a3')])).toBe(true);
    expect(engine.get('a1')?.alert.status).toBe('fired');
  });

  test('an alert whose keys come back in another order is the same alert: not put again', () => {
    const engine = createAlertEngine();
    const mine = held('ann', 'a1');
    engine.put(mine);
    const reordered: HeldAlert = {
      since: 1_000,
      alert: { fireCount: 0, createdAt: 1_000, status: 'active', rule: { repeat: 'once', price: 200, condition: 'above', symbol: 'AAPL' }, id: 'a1' },
      user: 'ann',
    };
    expect(syncUser(engine, 'ann', [reordered])).toBe(false);
    expect(engine.get('a1')).toBe(mine);
  });

  test('syncAll also empties users the store no longer lists, and names every user that changed', () => {
    const engine = createAlertEngine();
    engine.put(held('ann', 'a1'));
    engine.put(held('bob', 'b1'));
    expect([...syncAll(engine, [held('bob', 'b1'), held('cy', 'c1')])].sort()).toEqual(['ann', 'cy']);
    expect(engine.list('ann')).toEqual([]);
    expect(engine.size).toBe(2);
  });
});

describe('start-up', () => {
  test('a part that fails to open closes every part opened before it, newest first, then rethrows', async () => {
    const closed: string[] = [];
    const startUp = createStartUp(() => {});
    await startUp.open(async () => 'log', (part) => void closed.push(part));
    await startUp.open(async () => 'alerts', (part) => void closed.push(part));
    await expect(startUp.open(async () => Promise.reject(new Error('Redis at … could not be reached')), () => void closed.push('never'))).rejects.toThrow(/could not be reached/);
    expect(closed).toEqual(['alerts', 'log']);
  });

  test('a close that throws is reported and the others still close', async () => {
    const closed: string[] = [];
    const reported: unknown[] = [];
    const startUp = createStartUp((error) => reported.push(error));
    await startUp.open(async () => 'log', (part) => void closed.push(part));
    await startUp.open(async () => 'relay', () => {
      throw new Error('already gone');
    });
    await expect(startUp.fail(new Error('port taken'))).rejects.toThrow('port taken');
    expect(closed).toEqual(['log']);
    expect(reported).toHaveLength(1);
  });
});
