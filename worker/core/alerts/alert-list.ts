/**
 * The alert list as the user sees it, as pure functions: the server's `alerts:<user>` value checked
 * before use, and merged with what the outbox still holds. An alert with a message still queued
 * shows `pending sync` (a create not yet on the server, or a pause, update or delete not yet
 * acknowledged); one whose create or last message was refused shows `failed` with the server's
 * reason; anything else shows the server's status.
 */
import * as v from 'valibot';
import { AlertRuleSchema, type AlertRule, type AlertsState, type ServerAlert } from '../../../lib/wire/alerts';
import type { AlertItem } from '../../../lib/rpc/hub-api';
import { describeIssue, parseWith } from '../../../lib/parse';
import { implausibleTime, TimeSchema } from '../../../lib/wire/times';
import type { OutboxEntry } from '../outbox/store';

/** Most alerts one state value may list: far above the server's per-user limit, still bounded. */
const MAX_LISTED = 5000;
const time = TimeSchema;

const ServerAlertSchema = v.object({
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  rule: AlertRuleSchema,
  status: v.picklist(['active', 'paused', 'fired', 'expired'] as const),
  createdAt: time,
  firedAt: v.optional(time),
  firedPrice: v.optional(v.pipe(v.number(), v.finite())),
  fireCount: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
const AlertsStateSchema = v.object({ alerts: v.pipe(v.array(v.unknown()), v.maxLength(MAX_LISTED)) });

/** Every field of a rule: a field added to `AlertRule` and not here fails to compile. */
export const RULE_FIELDS = Object.keys({
  symbol: true,
  condition: true,
  price: true,
  percent: true,
  windowMinutes: true,
  repeat: true,
  cooldownMinutes: true,
  expiresAt: true,
  note: true,
} satisfies Record<keyof AlertRule, true>) as Array<keyof AlertRule>;

/** Every field of a server alert besides its rule. */
const ALERT_FIELDS = Object.keys({
  id: true,
  status: true,
  createdAt: true,
  firedAt: true,
  firedPrice: true,
  fireCount: true,
} satisfies Record<Exclude<keyof ServerAlert, 'rule'>, true>) as Array<Exclude<keyof ServerAlert, 'rule'>>;

const isFields = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Alerts that passed the schema lately, by id. The server sends the whole list after every change
 * (a thousand times while an outbox flushes), nearly all of it unchanged: an alert whose every field
 * equals one that passed is that alert, so it is taken as it is instead of checked again. What the
 * schema would drop (unknown keys) is dropped the same way, since the one that passed is returned.
 */
const validated = new Map<string, ServerAlert>();

function sameAsValidated(input: unknown): ServerAlert | null {
  if (!isFields(input) || typeof input.id !== 'string') return null;
  const known = validated.get(input.id);
  if (!known || !isFields(input.rule)) return null;
  const rule = input.rule;
  if (!ALERT_FIELDS.every((field) => input[field] === known[field])) return null;
  return RULE_FIELDS.every((field) => rule[field] === known.rule[field]) ? known : null;
}

/**
 * The value of an `alerts:<user>` state frame, or the first problem with it as text. With `now`,
 * the server's times in it (`createdAt`, `firedAt`) must also be plausible at that time
 * (`lib/wire/times.ts`).
 */
export function parseAlertsState(value: unknown, now?: number): { ok: true; value: AlertsState } | { ok: false; error: string } {
  const list = parseWith(AlertsStateSchema, value);
  if (!list.ok) return list;
  const alerts: ServerAlert[] = [];
  for (const [i, input] of list.value.alerts.entries()) {
    const known = sameAsValidated(input);
    if (known) {
      alerts.push(known);
      continue;
    }
    const parsed = v.safeParse(ServerAlertSchema, input);
    if (!parsed.success) {
      const why = describeIssue(parsed.issues);
      return { ok: false, error: parsed.issues[0].path ? `alerts.${i}.${why}` : `alerts.${i}: ${why}` };
    }
    alerts.push(parsed.output);
  }
  if (now !== undefined) {
    for (const [i, alert] of alerts.entries()) {
      const why = implausibleTime(alert.createdAt, now) ?? (alert.firedAt === undefined ? null : implausibleTime(alert.firedAt, now));
      if (why !== null) return { ok: false, error: `alerts.${i}: ${why}` };
    }
  }
  if (validated.size > 2 * MAX_LISTED) validated.clear();
  for (const alert of alerts) validated.set(alert.id, alert);
  return { ok: true, value: { alerts } };
}

function fromServer(alert: ServerAlert): AlertItem {
  return {
    id: alert.id,
    rule: alert.rule,
    state: alert.status,
    ...(alert.firedAt === undefined ? {} : { firedAt: alert.firedAt }),
    ...(alert.firedPrice === undefined ? {} : { firedPrice: alert.firedPrice }),
  };
}

/** The item with another state, and the reason only when it failed. */
function withState(item: AlertItem, state: AlertItem['state'], reason?: string): AlertItem {
  const { reason: _old, ...rest } = item;
  return { ...rest, state, ...(reason === undefined ? {} : { reason }) };
}

/**
 * What a message the server acknowledged did, until the next `alerts:<user>` value (which includes
 * it) arrives: without this an acknowledged create would vanish from the list for that moment.
 */
function applyAcked(item: AlertItem | undefined, entry: OutboxEntry): AlertItem | null | undefined {
  switch (entry.kind) {
    case 'alert.create':
      return item ?? { id: entry.body.alertId, rule: entry.body.rule, state: 'active' };
    case 'alert.update':
      return item && { ...item, rule: entry.body.rule };
    case 'alert.pause':
      return item && (item.state === 'active' || item.state === 'paused') ? withState(item, entry.body.paused ? 'paused' : 'active') : item;
    case 'alert.delete':
      return null;
  }
}

/**
 * Every alert, newest first: the server's list, then the effects of messages acknowledged since it
 * was sent (`acked`), then the outbox's entries in send order. Messages for an alert that appears
 * nowhere (a pause or delete whose alert the server no longer lists) show nothing.
 */
export function mergeAlerts(
  server: readonly ServerAlert[],
  acked: readonly OutboxEntry[],
  entries: readonly OutboxEntry[],
): AlertItem[] {
  /** `order` breaks ties of `createdAt`: the server's list order, then the outbox's `seq` (both newest larger). */
  const items = new Map<string, { item: AlertItem; createdAt: number; order: number }>();
  server.forEach((alert, i) => items.set(alert.id, { item: fromServer(alert), createdAt: alert.createdAt, order: -i - 1 }));
  for (const entry of acked) {
    const id = entry.body.alertId;
    const known = items.get(id);
    const item = applyAcked(known?.item, entry);
    if (item === null) items.delete(id);
    else if (item) items.set(id, known ? { ...known, item } : { item, createdAt: entry.createdAt, order: entry.seq });
  }
  // Per alert, what its queued messages add up to; the list is built once per alert, not per
  // message (a reconnect after a long offline spell can leave hundreds queued).
  const drafts = new Map<string, { base: AlertItem | undefined; rule?: AlertRule; last?: OutboxEntry; refusedCreate?: OutboxEntry; createdAt: number; order: number }>();
  for (const entry of entries) {
    const id = entry.body.alertId;
    let draft = drafts.get(id);
    if (!draft) {
      const known = items.get(id);
      draft = { base: known?.item, createdAt: known?.createdAt ?? entry.createdAt, order: known?.order ?? entry.seq };
      drafts.set(id, draft);
    }
    if (!draft.base && entry.kind === 'alert.create') {
      draft.base = { id, rule: entry.body.rule, state: 'pending sync' };
      draft.createdAt = entry.createdAt;
      draft.order = entry.seq;
    }
    if (!draft.base) continue;
    if (entry.kind === 'alert.create' && entry.state === 'failed') draft.refusedCreate = entry;
    // A refused update leaves the server's rule in force; a queued one shows what will be.
    if (entry.kind === 'alert.update' && entry.state === 'queued') draft.rule = entry.body.rule;
    draft.last = entry;
  }
  for (const [id, { base, rule, last, refusedCreate, createdAt, order }] of drafts) {
    if (!base || !last) continue;
    const shown = rule ? { ...base, rule } : base;
    // The server never held an alert whose create it refused: that is the reason to show, not the
    // "unknown alert" of a change queued behind it.
    const failed = refusedCreate ?? (last.state === 'failed' ? last : null);
    const item = failed ? withState(shown, 'failed', failed.reason ?? 'refused by the server') : withState(shown, 'pending sync');
    items.set(id, { item, createdAt, order });
  }
  return [...items.values()].sort((a, b) => b.createdAt - a.createdAt || b.order - a.order).map(({ item }) => item);
}
