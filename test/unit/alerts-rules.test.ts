/**
 * What each alert message decides, as a pure function of the message and the alerts held (no
 * server): the checks only the server can make, what update/pause/delete do to status and to the
 * moment a rule starts watching, and the feed event a fired alert becomes.
 */
import { describe, expect, test } from 'vitest';
import type { AlertRule, ServerAlert } from '../../lib/wire/alerts';
import { newMessageId } from '../../lib/wire/ids';
import { parseNotification } from '../../lib/wire/notifications';
import { createAlertEngine } from '../../server/alerts/engine';
import { firedNotification } from '../../server/alerts/feed-event';
import { decideMessage, isAlertMessageKind } from '../../server/alerts/messages';
import type { AlertEngine } from '../../server/alerts/types';

const NOW = 1_700_000_000_000;
const rule = (extra: Partial<AlertRule> = {}) => ({ symbol: 'AAPL', condition: 'above', price: 210, ...extra });

function engineWith(status: ServerAlert['status'] = 'active'): { engine: AlertEngine; alertId: string } {
  const engine = createAlertEngine();
  engine.seed('AAPL', 200, NOW - 1000);
  const alertId = newMessageId();
  engine.put({
    user: 'alice',
    since: NOW - 500,
    alert: { id: alertId, rule: { symbol: 'AAPL', condition: 'above', price: 205, repeat: 'once' }, status, createdAt: NOW - 500, firedAt: NOW - 100, firedPrice: 206, fireCount: 1 },
  });
  return { engine, alertId };
}

const ctx = (engine: AlertEngine, user = 'alice') => ({ user, now: NOW, engine });

test('only the four alert kinds are alert messages', () => {
  expect(['alert.create', 'alert.update', 'alert.pause', 'alert.delete'].every(isAlertMessageKind)).toBe(true);
  expect(isAlertMessageKind('alert.snooze')).toBe(false);
});

describe('alert.create', () => {
  test('makes an active alert created now, starting to watch now', () => {
    const { engine } = engineWith();
    const alertId = newMessageId();
    const decision = decideMessage('alert.create', { alertId, rule: rule() }, ctx(engine));
    const alert = { id: alertId, rule: { ...rule(), repeat: 'once' }, status: 'active', createdAt: NOW, fireCount: 0 };
    expect(decision).toEqual({ ack: { ok: true, result: { alert } }, effect: { type: 'put', held: { user: 'alice', alert, since: NOW } } });
  });

  test.each([
    ['a threshold exactly 1000× the price is allowed', rule({ price: 200_000 }), true],
    ['one just beyond is not', rule({ price: 200_000.01 }), false],
    ['exactly 1/1000 is allowed', rule({ condition: 'below', price: 0.2 }), true],
    ['a percent move has no threshold to check', { symbol: 'AAPL', condition: 'percent-move', percent: 1000, windowMinutes: 5 }, true],
  ])('%s', (_name, input, ok) => {
    const { engine } = engineWith();
    expect(decideMessage('alert.create', { alertId: newMessageId(), rule: input }, ctx(engine)).ack.ok).toBe(ok);
  });

  test('extra fields are dropped, not stored', () => {
    const { engine } = engineWith();
    const decision = decideMessage('alert.create', { alertId: newMessageId(), rule: { ...rule(), evil: '<script>' } }, ctx(engine));
    expect(decision.effect?.type === 'put' && decision.effect.held.alert.rule).toEqual({ ...rule(), repeat: 'once' });
  });
});

describe('alert.update', () => {
  test.each([
    ['active', 'active'],
    ['paused', 'paused'],
    ['fired', 'active'],
    ['expired', 'active'],
  ] as const)('of a %s alert: new rule, status %s, firing history kept, watching from now', (status, after) => {
    const { engine, alertId } = engineWith(status);
    const decision = decideMessage('alert.update', { alertId, rule: rule({ price: 215 }) }, ctx(engine));
    expect(decision.effect).toMatchObject({
      type: 'put',
      held: { since: NOW, alert: { id: alertId, status: after, rule: { price: 215 }, firedAt: NOW - 100, fireCount: 1, createdAt: NOW - 500 } },
    });
  });

  test('an invalid rule is refused before the alert is even looked up', () => {
    const { engine } = engineWith();
    expect(decideMessage('alert.update', { alertId: newMessageId(), rule: rule({ price: -1 }) }, ctx(engine)).ack).toMatchObject({
      ok: false,
      error: { message: 'Invalid rule: Price must be above 0' },
    });
  });
});

describe('alert.pause', () => {
  test('pausing an active alert pauses it; resuming starts watching afresh', () => {
    const { engine, alertId } = engineWith('active');
    expect(decideMessage('alert.pause', { alertId, paused: true }, ctx(engine)).effect).toMatchObject({ held: { alert: { status: 'paused' } } });
    const paused = engineWith('paused');
    expect(decideMessage('alert.pause', { alertId: paused.alertId, paused: false }, ctx(paused.engine)).effect).toMatchObject({
      held: { since: NOW, alert: { status: 'active' } },
    });
  });

  test.each([
    ['fired', true],
    ['expired', false],
    ['paused', true],
    ['active', false],
  ] as const)('of a %s alert with paused=%s changes nothing and succeeds', (status, paused) => {
    const { engine, alertId } = engineWith(status);
    const decision = decideMessage('alert.pause', { alertId, paused }, ctx(engine));
    expect(decision).toEqual({ ack: { ok: true, result: { alert: engine.get(alertId)!.alert } } });
  });
});

test("alert.delete removes the caller's alert; another user's is unknown", () => {
  const { engine, alertId } = engineWith();
  expect(decideMessage('alert.delete', { alertId }, ctx(engine))).toEqual({
    ack: { ok: true, result: { alertId, deleted: true } },
    effect: { type: 'delete', alertId },
  });
  expect(decideMessage('alert.delete', { alertId }, ctx(engine, 'mallory')).ack).toEqual({
    ok: false,
    error: { code: 'invalid', message: `Unknown alert ${alertId}` },
  });
});

describe('the feed event of a fired alert', () => {
  test.each([
    [{ symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' }, 'AAPL above 200', 'AAPL hit 200.12'],
    [{ symbol: 'BTC-USD', condition: 'percent-move', percent: 5, windowMinutes: 60, repeat: 'once' }, 'BTC-USD moves 5% within 60 min', 'BTC-USD moved 5% or more to 200.12'],
    [{ symbol: 'KO', condition: 'crossing', price: 200, repeat: 'once', note: 'sell half' }, 'KO crossing 200', 'KO hit 200.12. sell half'],
  ] as const)('%o → %s / %s, level high, with the alert; a valid notification', (r, title, body) => {
    const alert: ServerAlert = { id: 'a1', rule: r, status: 'fired', createdAt: 1, fireCount: 1 };
    const data = firedNotification({ user: 'alice', alert, price: 200.12, at: 5000 });
    expect(data).toEqual({ title, body, level: 'high', alert: { alertId: 'a1', rule: r, price: 200.12, firedAt: 5000 } });
    expect(parseNotification(data)).toEqual({ ok: true, value: data });
  });
});
