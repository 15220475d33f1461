/**
 * Where the Redis alert store keeps what, in one place. `P` is the key prefix (default
 * `switchboard:`). A user's keys share the hash tag `{u:<user>}`, so they sit in one slot and a
 * script touching one user's data touches one key group:
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `P{u:<user>}:alerts` | hash | alert id → JSON `{user, since, alert}` without the firing state |
 * | `P{u:<user>}:states` | hash | alert id → JSON `{status, fireCount, firedAt?, firedPrice?}` |
 * | `P{u:<user>}:rev` | string | the user's alert revision (integer, grows on every change) |
 * | `P{u:<user>}:acks` | hash | applied message id → JSON ack |
 * | `P{u:<user>}:applied` | sorted set | applied message id, scored by when it was applied (ms) |
 * | `P:alert-owners` | hash | alert id → user: ids are unique across users, and `saveStates` finds the owner |
 * | `P:alert-prices` | hash | symbol → JSON `{price, at}`: the last price the alert engine saw |
 * | `P:alert-lease` | string | the token of the node evaluating alerts, with a TTL |
 * | `P:alert-lease:fence` | string | the fence of the lease's latest holder (integer) |
 * | `P:alert-changes` | channel | `<revision> <user>` whenever a user's alerts changed |
 *
 * Firing state lives apart from the rule so a fenced `saveStates` writes whole values without
 * reading and re-encoding JSON in Lua (whose cjson rounds numbers to 14 digits), and can never
 * overwrite a rule a message changed meanwhile. The global keys (`alert-owners`, the fence) are
 * why the store needs one Redis (or one primary), not a Redis Cluster.
 *
 * User names cannot contain braces (`lib/wire/ids.ts`), so the tag is the whole user; the suffixes
 * are chosen so that no `}:suffix` ends another, which keeps two users' keys distinct regardless.
 */

/** Default key prefix. */
export const DEFAULT_KEY_PREFIX = 'switchboard:';

export type UserKey = 'alerts' | 'states' | 'rev' | 'acks' | 'applied';

export interface AlertKeys {
  user(user: string, key: UserKey): string;
  /** The user a `user(…, key)` key belongs to, or undefined for any other key. */
  userOf(redisKey: string, key: UserKey): string | undefined;
  /** A SCAN pattern matching every user's `key`. */
  everyUser(key: UserKey): string;
  readonly owners: string;
  readonly prices: string;
  readonly lease: string;
  readonly leaseFence: string;
  /** The pub/sub channel every change of a user's alerts is announced on. */
  readonly changes: string;
}

/** SCAN's glob treats `* ? [ ] \` as special; a prefix holding them must match itself. */
const globEscape = (text: string): string => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

export function alertKeys(prefix: string = DEFAULT_KEY_PREFIX): AlertKeys {
  if (/[{}]/.test(prefix)) throw new Error(`The Redis key prefix must not contain braces (they make hash tags): ${JSON.stringify(prefix)}`);
  const head = `${prefix}{u:`;
  return {
    user: (user, key) => `${head}${user}}:${key}`,
    userOf(redisKey, key) {
      const tail = `}:${key}`;
      if (!redisKey.startsWith(head) || !redisKey.endsWith(tail) || redisKey.length < head.length + tail.length) return undefined;
      return redisKey.slice(head.length, redisKey.length - tail.length);
    },
    everyUser: (key) => `${globEscape(head)}*}:${key}`,
    owners: `${prefix}alert-owners`,
    prices: `${prefix}alert-prices`,
    lease: `${prefix}alert-lease`,
    leaseFence: `${prefix}alert-lease:fence`,
    changes: `${prefix}alert-changes`,
  };
}
