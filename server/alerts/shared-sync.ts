/**
 * Bringing this node's engine in line with the alerts a shared store holds (several nodes on
 * Redis): one user's alerts after another node changed them, or every alert when this node starts
 * evaluating. An alert whose stored version equals the one held is left alone, so its place in
 * the symbol index and its cooldown stay as they are; a changed one is put again; one the store no
 * longer has is removed.
 */
import type { AlertStore, SharedAlertStore } from './store-types';
import type { AlertsTopic } from './topic';
import type { AlertEngine, HeldAlert } from './types';

/** Same user, same start, same alert field by field (a stored alert may list its keys in another order). */
function sameHeld(a: HeldAlert, b: HeldAlert): boolean {
  if (a.user !== b.user || a.since !== b.since) return false;
  const x = a.alert as unknown as Record<string, unknown>;
  const y = b.alert as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const key of keys) {
    if (key === 'rule') continue;
    if (x[key] !== y[key]) return false;
  }
  const r = a.alert.rule as unknown as Record<string, unknown>;
  const s = b.alert.rule as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(r), ...Object.keys(s)])].every((key) => r[key] === s[key]);
}

/** Makes the engine hold exactly `alerts` for `user`; returns whether anything changed. */
export function syncUser(engine: AlertEngine, user: string, alerts: readonly HeldAlert[]): boolean {
  let changed = false;
  const wanted = new Set(alerts.map((held) => held.alert.id));
  for (const alert of engine.list(user)) {
    if (wanted.has(alert.id)) continue;
    engine.remove(alert.id);
    changed = true;
  }
  for (const held of alerts) {
    const known = engine.get(held.alert.id);
    if (known && sameHeld(known, held)) continue;
    engine.put(held);
    changed = true;
  }
  return changed;
}

/** Makes the engine hold exactly `alerts`; returns the users whose alerts changed. */
export function syncAll(engine: AlertEngine, alerts: readonly HeldAlert[]): Set<string> {
  const byUser = new Map<string, HeldAlert[]>();
  for (const held of alerts) {
    const mine = byUser.get(held.user);
    if (mine) mine.push(held);
    else byUser.set(held.user, [held]);
  }
  for (const held of engine.all()) if (!byUser.has(held.user)) byUser.set(held.user, []);
  const changed = new Set<string>();
  for (const [user, mine] of byUser) if (syncUser(engine, user, mine)) changed.add(user);
  return changed;
}

/** Makes this node's copy of `user`'s alerts the store's, telling the topic if it changed; resolves with their revision. */
export async function readUser(store: SharedAlertStore, engine: AlertEngine, topic: Pick<AlertsTopic, 'publish'>, user: string): Promise<number> {
  const { alerts, revision } = await store.userAlerts(user);
  if (syncUser(engine, user, alerts)) topic.publish(user);
  return revision;
}

/** Makes this node's copy of every alert the store's, telling the topic of each user whose alerts changed. */
export async function readEveryAlert(store: Pick<AlertStore, 'load'>, engine: AlertEngine, topic: Pick<AlertsTopic, 'publish'>): Promise<void> {
  const { alerts } = await store.load();
  for (const user of syncAll(engine, alerts)) topic.publish(user);
}
