/**
 * The Lua scripts of the Redis alert store (keys as `redis-keys.ts` lays them out). Each runs
 * atomically, which is what makes a message apply at most once however many nodes receive it:
 * the check that its id is new, its record and its effect are one step. Scripts only compare and
 * copy the JSON the store made; they never decode and re-encode it (Redis's cjson would round
 * numbers to 14 significant digits), except to read a price's `at`.
 *
 * They go by EVAL, not EVALSHA: after a Redis restart an EVALSHA fails with NOSCRIPT and its
 * retry would run after commands sent behind it on the same connection. Redis caches a script's
 * compiled form by its body, so EVAL costs the bytes of the body, nothing more.
 */

/**
 * KEYS: alerts, states, rev, acks, applied (of the user), owners.
 * ARGV: user, message id, at, ack JSON, perUser (≥ 1), ifRevision or '', effect ('put', 'delete'
 * or ''), alert id, the rule's JSON, the state's JSON, the changes channel. A change is published
 * there as `<revision> <user>` in the same step, so no node can miss it for want of a second call.
 * Returns {'duplicate'} | {'stale', revision} | {'taken'} | {'applied', revision}.
 */
export const APPLY = `
local alerts, states, rev, acks, applied, owners = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local user, id, at, ack, perUser, ifRevision = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local kind, alertId = ARGV[7], ARGV[8]

if redis.call('HEXISTS', acks, id) == 1 then return {'duplicate'} end
local revision = tonumber(redis.call('GET', rev) or '0')
if ifRevision ~= '' and tonumber(ifRevision) ~= revision then return {'stale', revision} end
if kind == 'put' then
  local owner = redis.call('HGET', owners, alertId)
  if owner and owner ~= user then return {'taken'} end
end

redis.call('HSET', acks, id, ack)
redis.call('ZADD', applied, at, id)
-- Forget the oldest records past perUser (lowest score; equal scores in id order), never the one
-- just made: it is the newest even when older ones share its millisecond.
local excess = redis.call('ZCARD', applied) - perUser
if excess > 0 then
  for _, old in ipairs(redis.call('ZRANGE', applied, 0, excess)) do
    if excess == 0 then break end
    if old ~= id then
      redis.call('ZREM', applied, old)
      redis.call('HDEL', acks, old)
      excess = excess - 1
    end
  end
end

if kind == 'put' then
  redis.call('HSET', alerts, alertId, ARGV[9])
  redis.call('HSET', states, alertId, ARGV[10])
  redis.call('HSET', owners, alertId, user)
  revision = redis.call('INCR', rev)
  redis.call('PUBLISH', ARGV[11], revision .. ' ' .. user)
elseif kind == 'delete' and redis.call('HDEL', alerts, alertId) == 1 then
  redis.call('HDEL', states, alertId)
  redis.call('HDEL', owners, alertId)
  revision = redis.call('INCR', rev)
  redis.call('PUBLISH', ARGV[11], revision .. ' ' .. user)
end
return {'applied', revision}
`;

/**
 * KEYS: alerts, states, rev (of one user). Returns {revision, alerts as HGETALL, states as HGETALL}.
 */
export const USER_ALERTS = `
return {tonumber(redis.call('GET', KEYS[3]) or '0'), redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
`;

/**
 * KEYS: the lease fence, then alerts, states, rev of each user in turn.
 * ARGV: the fence or '' (unfenced), the changes channel, then for each user: the user, how many
 * alerts, then id and state JSON of each. Each user whose states changed is published as
 * `<revision> <user>`.
 * Returns {'fenced', current fence or ''} | {'saved', states written}.
 */
export const SAVE_STATES = `
local fence = ARGV[1]
if fence ~= '' then
  local current = redis.call('GET', KEYS[1])
  if current ~= fence then return {'fenced', current or ''} end
end
local a, written = 3, 0
for k = 2, #KEYS, 3 do
  local alerts, states, rev = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local user, n, changed = ARGV[a], tonumber(ARGV[a + 1]), false
  a = a + 2
  for _ = 1, n do
    local id, state = ARGV[a], ARGV[a + 1]
    a = a + 2
    -- A deleted alert stays deleted: only alerts the user still holds get a state.
    if redis.call('HEXISTS', alerts, id) == 1 and redis.call('HGET', states, id) ~= state then
      redis.call('HSET', states, id, state)
      changed = true
      written = written + 1
    end
  end
  if changed then redis.call('PUBLISH', ARGV[2], redis.call('INCR', rev) .. ' ' .. user) end
end
return {'saved', written}
`;

/**
 * KEYS: prices. ARGV: symbol, at, JSON {price, at} of each price in turn. A price older than the
 * one held is skipped: nodes save the prices they saw, and a late write must not win.
 */
export const SAVE_PRICES = `
for i = 1, #ARGV, 3 do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if not held or cjson.decode(held).at <= tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  end
end
return #ARGV / 3
`;

/** KEYS: applied, acks (of one user). ARGV: the cut (ms). Forgets the records before it; returns how many. */
export const TRIM_APPLIED = `
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for i = 1, #old, 1000 do
  local chunk = {unpack(old, i, math.min(i + 999, #old))}
  redis.call('ZREM', KEYS[1], unpack(chunk))
  redis.call('HDEL', KEYS[2], unpack(chunk))
end
return #old
`;
