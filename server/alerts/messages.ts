/**
 * What an alert client message (`send {id, kind, body}`) does, decided as a pure function of the
 * message and the alerts held now: the ack to answer with and the effect to apply, or a refusal
 * with code `invalid` whose message says what to fix. Nothing here changes anything; the service
 * records the decision and applies it. The rule itself is checked by `parseAlertRule`, the one
 * validation the form and the hub use too, then against what only the server knows: whether the
 * symbol has a price, and whether the threshold is within reach of it.
 */
import { MAX_ALERTS_PER_USER, MAX_THRESHOLD_FACTOR, parseAlertRule, tooFarFromCurrent, type AlertMessageKind, type AlertRule, type ServerAlert } from '../../lib/wire/alerts';
import { parseMessageId } from '../../lib/wire/ids';
import { isFields } from '../common/untrusted';
import type { AckOutcome, AlertEffect } from './store-types';
import type { AlertEngine, HeldAlert } from './types';

export const ALERT_MESSAGE_KINDS: readonly AlertMessageKind[] = ['alert.create', 'alert.update', 'alert.pause', 'alert.delete'];

export function isAlertMessageKind(kind: string): kind is AlertMessageKind {
  return (ALERT_MESSAGE_KINDS as readonly string[]).includes(kind);
}

export interface DecideContext {
  readonly user: string;
  /** Wall clock (ms): the creation time, and the present an expiry must be after. */
  readonly now: number;
  readonly engine: Pick<AlertEngine, 'get' | 'count' | 'lastPrice'>;
}

export interface Decision {
  readonly ack: AckOutcome;
  readonly effect?: AlertEffect;
}

/** What an `ok` ack carries: the alert as it now is, or the id of the one deleted. */
export type AckResult = { readonly alert: ServerAlert } | { readonly alertId: string; readonly deleted: true };

export const refuse = (message: string): Decision => ({ ack: { ok: false, error: { code: 'invalid', message } } });
const accept = (result: AckResult, effect?: AlertEffect): Decision => ({ ack: { ok: true, result }, ...(effect ? { effect } : {}) });

/** The rule, or why it cannot be. */
function checkRule(input: unknown, ctx: DecideContext): { ok: true; rule: AlertRule } | { ok: false; message: string } {
  if (input === undefined) return { ok: false, message: 'rule is missing' };
  if (!isFields(input)) return { ok: false, message: 'rule must be an object' };
  for (const field of ['symbol', 'condition']) {
    if (input[field] === undefined) return { ok: false, message: `Invalid rule: ${field} is missing` };
  }
  const parsed = parseAlertRule(input, ctx.now);
  if (!parsed.ok) return { ok: false, message: `Invalid rule: ${parsed.error}` };
  const rule = parsed.value;
  const current = ctx.engine.lastPrice(rule.symbol);
  if (!current) return { ok: false, message: `Unknown symbol ${rule.symbol}: the server has never seen a price for it` };
  if (rule.condition !== 'percent-move' && rule.price !== undefined) {
    if (tooFarFromCurrent(rule.price, current.price)) {
      return { ok: false, message: `Price ${rule.price} is more than ${MAX_THRESHOLD_FACTOR}× away from ${rule.symbol}'s current price ${current.price}` };
    }
  }
  return { ok: true, rule };
}

/** The caller's own alert, or the refusal (another user's alert is as unknown as a missing one). */
function ownAlert(alertId: string, ctx: DecideContext): HeldAlert | Decision {
  const held = ctx.engine.get(alertId);
  return held && held.user === ctx.user ? held : refuse(`Unknown alert ${alertId}`);
}

export function decideMessage(kind: AlertMessageKind, body: unknown, ctx: DecideContext): Decision {
  if (!isFields(body)) return refuse(`${kind} needs a body object`);
  const alertId = parseMessageId(body.alertId);
  if (alertId === null) return refuse(body.alertId === undefined ? 'alertId is missing' : 'alertId must be a UUID');

  switch (kind) {
    case 'alert.create': {
      const checked = checkRule(body.rule, ctx);
      if (!checked.ok) return refuse(checked.message);
      if (ctx.engine.get(alertId)) return refuse(`Alert ${alertId} already exists`);
      if (ctx.engine.count(ctx.user) >= MAX_ALERTS_PER_USER) {
        return refuse(`At most ${MAX_ALERTS_PER_USER} alerts per user: delete some first`);
      }
      const alert: ServerAlert = { id: alertId, rule: checked.rule, status: 'active', createdAt: ctx.now, fireCount: 0 };
      return accept({ alert }, { type: 'put', held: { user: ctx.user, alert, since: ctx.now } });
    }
    case 'alert.update': {
      const checked = checkRule(body.rule, ctx);
      if (!checked.ok) return refuse(checked.message);
      const held = ownAlert(alertId, ctx);
      if ('ack' in held) return held;
      // A new rule re-arms a fired or expired alert; a paused one stays paused. The firing history
      // stays, so a recurring rule's cooldown still counts from its last firing.
      const alert: ServerAlert = { ...held.alert, rule: checked.rule, status: held.alert.status === 'paused' ? 'paused' : 'active' };
      return accept({ alert }, { type: 'put', held: { user: ctx.user, alert, since: ctx.now } });
    }
    case 'alert.pause': {
      if (typeof body.paused !== 'boolean') return refuse('paused must be true or false');
      const held = ownAlert(alertId, ctx);
      if ('ack' in held) return held;
      const { status } = held.alert;
      // Pausing what can no longer fire, or what already is as asked, changes nothing.
      if (status === 'fired' || status === 'expired' || (status === 'paused') === body.paused) return accept({ alert: held.alert });
      const alert: ServerAlert = { ...held.alert, status: body.paused ? 'paused' : 'active' };
      // Resuming watches afresh from now: moves made while paused are not the rule's.
      return accept({ alert }, { type: 'put', held: { user: ctx.user, alert, since: ctx.now } });
    }
    case 'alert.delete': {
      const held = ownAlert(alertId, ctx);
      if ('ack' in held) return held;
      return accept({ alertId, deleted: true }, { type: 'delete', alertId });
    }
  }
}
