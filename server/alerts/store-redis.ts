/**
 * The alert store several server nodes share: alerts, applied-message records and last prices in
 * one Redis (layout in `redis-keys.ts`, scripts in `redis-scripts.ts`). Every write is one Lua
 * script, so it is atomic: a message id is checked, recorded and its effect applied in one step,
 * which makes the same id sent to two nodes at once apply exactly once (the other gets
 * `DuplicateMessageError` and `findAck` answers it). A write resolves once Redis has executed it;
 * how durable that is follows Redis's persistence (with `appendfsync always`, fsynced first).
 *
 * Beyond `AlertStore` (`SharedAlertStore`): a per-user revision for optimistic concurrency between
 * nodes, and firing state written under the alert lease's fence. While Redis cannot be reached
 * every method rejects at once with `StoreUnavailableError` rather than waiting for it; a write
 * that fails so may still have happened (its reply lost), and a retry of the same message is then
 * refused as a duplicate and answered from the record.
 */
import type { AlertStatus, ServerAlert } from '../../lib/wire/alerts';
import { closeRedis, connectRedis, withRedis, type Redis, type RedisConnectionOptions, type RedisLogger } from '../redis/client';
import { alertKeys, type AlertKeys } from './redis-keys';
import { APPLY, SAVE_PRICES, SAVE_STATES, TRIM_APPLIED, USER_ALERTS } from './redis-scripts';
import { AlertIdTakenError, DuplicateMessageError, FencedOffError, StaleRevisionError } from './store-errors';
import type { AckOutcome, SharedAlertStore, SymbolPrice, UserAlerts } from './store-types';
import type { HeldAlert } from './types';

export interface RedisAlertStoreOptions extends RedisConnectionOptions {
  /** Prepended to every key, so several services can share one Redis. Default `switchboard:`. */
  readonly keyPrefix?: string;
  /** Hears each outage of the connection and its end. */
  readonly logger: RedisLogger;
}

/** Keys asked of each SCAN step (a hint to Redis, not a limit). */
const SCAN_BATCH = 500;

/** The firing state, the part of an alert `saveStates` writes; keys in one order so equal states compare equal. */
function encodeState(alert: ServerAlert): string {
  const { status, fireCount, firedAt, firedPrice } = alert;
  return JSON.stringify({ status, fireCount, ...(firedAt === undefined ? {} : { firedAt }), ...(firedPrice === undefined ? {} : { firedPrice }) });
}

function encodeRule(held: HeldAlert): string {
  const { status: _s, fireCount: _c, firedAt: _a, firedPrice: _p, ...rest } = held.alert;
  return JSON.stringify({ user: held.user, since: held.since, alert: rest });
}

interface StoredState {
  readonly status: AlertStatus;
  readonly fireCount: number;
  readonly firedAt?: number;
  readonly firedPrice?: number;
}

/** Written by this store from validated values; Redis is not an input boundary. */
function decodeHeld(rule: string, state: string): HeldAlert {
  const base = JSON.parse(rule) as { user: string; since: number; alert: Omit<ServerAlert, keyof StoredState> };
  return { user: base.user, since: base.since, alert: { ...base.alert, ...(JSON.parse(state) as StoredState) } };
}

/** Alerts from the two HGETALL replies of one user (field, value, field, value, …). */
function joinUser(rules: readonly string[], states: readonly string[]): HeldAlert[] {
  const stateOf = new Map<string, string>();
  for (let i = 0; i + 1 < states.length; i += 2) stateOf.set(states[i]!, states[i + 1]!);
  const alerts: HeldAlert[] = [];
  for (let i = 0; i + 1 < rules.length; i += 2) {
    const state = stateOf.get(rules[i]!);
    if (state !== undefined) alerts.push(decodeHeld(rules[i + 1]!, state));
  }
  return alerts;
}

async function readUser(client: Redis, keys: AlertKeys, user: string): Promise<UserAlerts> {
  const reply = (await client.eval(USER_ALERTS, { keys: [keys.user(user, 'alerts'), keys.user(user, 'states'), keys.user(user, 'rev')] })) as [number, string[], string[]];
  return { revision: reply[0], alerts: joinUser(reply[1], reply[2]) };
}

/** Every key matching `pattern`, each once, in batches (SCAN may return a key twice). */
async function* scanKeys(client: Redis, pattern: string, type: string): AsyncGenerator<string[]> {
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const reply = await client.scan(cursor, { MATCH: pattern, COUNT: SCAN_BATCH, TYPE: type });
    cursor = String(reply.cursor);
    const fresh = reply.keys.map(String).filter((key) => !seen.has(key));
    for (const key of fresh) seen.add(key);
    if (fresh.length > 0) yield fresh;
  } while (cursor !== '0');
}

export async function openRedisAlertStore(options: RedisAlertStoreOptions): Promise<SharedAlertStore> {
  const keys = alertKeys(options.keyPrefix);
  const client = await connectRedis(options, 'alerts');
  let closed = false;
  /** Runs Redis calls (and nothing else: a failure to reach Redis is told apart by its type). */
  async function run<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (closed) throw new Error('The alert store is closed');
    return withRedis(options.url, what, work);
  }

  return {
    kind: 'redis',
    leaseKey: keys.lease,
    leaseFenceKey: keys.leaseFence,
    changesChannel: keys.changes,
    async load() {
      return run('load the alerts', async () => {
        const alerts: HeldAlert[] = [];
        for await (const batch of scanKeys(client, keys.everyUser('alerts'), 'hash')) {
          const users = batch.flatMap((key) => keys.userOf(key, 'alerts') ?? []);
          for (const one of await Promise.all(users.map((user) => readUser(client, keys, user)))) alerts.push(...one.alerts);
        }
        const held = await client.hGetAll(keys.prices);
        const prices = Object.entries(held).map(([symbol, value]): SymbolPrice => ({ symbol, ...(JSON.parse(String(value)) as { price: number; at: number }) }));
        return { alerts, prices };
      });
    },
    async userAlerts(user) {
      return run(`read the alerts of ${user}`, () => readUser(client, keys, user));
    },
    async findAck(user, messageId) {
      const ack = await run(`find the answer to ${messageId}`, () => client.hGet(keys.user(user, 'acks'), messageId));
      return ack === null || ack === undefined ? undefined : (JSON.parse(String(ack)) as AckOutcome);
    },
    async apply({ user, messageId, at, ack, effect }, limits, applyOptions = {}) {
      const perUser = Math.max(1, Math.floor(limits.perUser) || 1);
      const { ifRevision } = applyOptions;
      const effectArgs =
        effect?.type === 'put'
          ? ['put', effect.held.alert.id, encodeRule(effect.held), encodeState(effect.held.alert)]
          : effect?.type === 'delete'
            ? ['delete', effect.alertId, '', '']
            : ['', '', '', ''];
      const userKeys = (['alerts', 'states', 'rev', 'acks', 'applied'] as const).map((key) => keys.user(user, key));
      const args = [user, messageId, String(at), JSON.stringify(ack), String(perUser), ifRevision === undefined ? '' : String(ifRevision), ...effectArgs, keys.changes];
      const reply = (await run(`apply ${messageId}`, () => client.eval(APPLY, { keys: [...userKeys, keys.owners], arguments: args }))) as [string, number?];
      switch (reply[0]) {
        case 'applied':
          return;
        case 'duplicate':
          throw new DuplicateMessageError(user, messageId);
        case 'stale':
          throw new StaleRevisionError(user, ifRevision ?? 0, Number(reply[1]));
        case 'taken':
          throw new AlertIdTakenError(effect?.type === 'put' ? effect.held.alert.id : '');
        default:
          throw new Error(`Unexpected reply from the apply script: ${JSON.stringify(reply)}`);
      }
    },
    async saveStates(alerts, fence) {
      if (alerts.length === 0 && fence === undefined) return;
      await run('save the alert states', async () => {
        const owners = alerts.length === 0 ? [] : await client.hmGet(keys.owners, alerts.map((a) => a.id));
        const byUser = new Map<string, string[]>();
        alerts.forEach((alert, i) => {
          const owner = owners[i];
          // No owner: deleted, and a deleted alert stays deleted.
          if (owner === null || owner === undefined) return;
          const list = byUser.get(String(owner)) ?? [];
          list.push(alert.id, encodeState(alert));
          byUser.set(String(owner), list);
        });
        const scriptKeys = [keys.leaseFence];
        const args = [fence === undefined ? '' : String(fence), keys.changes];
        for (const [user, list] of byUser) {
          scriptKeys.push(keys.user(user, 'alerts'), keys.user(user, 'states'), keys.user(user, 'rev'));
          args.push(user, String(list.length / 2), ...list);
        }
        if (byUser.size === 0 && fence === undefined) return;
        const reply = (await client.eval(SAVE_STATES, { keys: scriptKeys, arguments: args })) as [string, string | number];
        if (reply[0] === 'fenced') throw new FencedOffError(fence ?? 0, reply[1] === '' ? undefined : Number(reply[1]));
      });
    },
    async savePrices(prices) {
      if (prices.length === 0) return;
      const args = prices.flatMap((p) => [p.symbol, String(p.at), JSON.stringify({ price: p.price, at: p.at })]);
      await run('save the last prices', () => client.eval(SAVE_PRICES, { keys: [keys.prices], arguments: args }));
    },
    async trimApplied(before) {
      return run('trim the applied messages', async () => {
        let removed = 0;
        for await (const batch of scanKeys(client, keys.everyUser('applied'), 'zset')) {
          const users = batch.flatMap((key) => keys.userOf(key, 'applied') ?? []);
          const counts = await Promise.all(users.map((user) => client.eval(TRIM_APPLIED, { keys: [keys.user(user, 'applied'), keys.user(user, 'acks')], arguments: [String(before)] })));
          removed += counts.reduce<number>((sum, n) => sum + Number(n), 0);
        }
        return removed;
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await closeRedis(client);
    },
  };
}
