/**
 * The Redis side of the Streams event log: key names and the Lua scripts, each run atomically by
 * Redis (https://redis.io/docs/latest/develop/programmability/eval-intro/), so no other node's
 * command lands between a script's reads and writes.
 *
 * Per topic, two keys share the Cluster hash tag `{<topic>}` and so one slot:
 * - `<prefix>log:{<topic>}:meta`, a hash: `epoch`, `seq` (the newest seq assigned, the top) and
 *   `at` (`at` of the newest event; it never goes back, which age trimming relies on);
 * - `<prefix>log:{<topic>}:events`, a stream whose entry ids are `<seq>-0`, fields `at` and `data`
 *   (the event's data as JSON text), so a replay is `XRANGE` from `<seq+1>-0` with `COUNT`.
 * Besides, `<prefix>log:topics` is the set of topics that have had an event (for the age sweep),
 * and every change is published as JSON on the channel `<prefix>log:changes`, which every node
 * subscribes to: `{"type":"event","topic","epoch","seq","at","data"}` or
 * `{"type":"reset","topic","epoch"}`. The topic set is the one key outside a topic's slot; on a
 * Redis Cluster it would have to move out of the append script (a topic missing from it only
 * escapes the age sweep until its next append).
 *
 * A missing meta hash means the log of that topic was lost (Redis flushed, or restarted without
 * persistence, or the key evicted): the next script that needs it creates it with the epoch the
 * node passed in, at seq 0, and drops whatever stream entries are left, which belong to no epoch.
 * The meta also holds `run`, the `run_id` of the Redis process that last wrote it. A meta written
 * by an earlier process survived a restart, but unless that Redis keeps every acknowledged write
 * (AOF with `appendfsync always`) its newest events may not have: an RDB snapshot or an AOF synced
 * every second comes back with the tail missing, and the seqs after it would be given again to
 * other events, so a client whose cursor was in that tail would later skip them silently. Such a
 * meta is treated as lost: the topic starts a new epoch, and clients resynchronise visibly.
 */

/** The keys of one topic. */
export interface TopicKeys {
  readonly meta: string;
  readonly events: string;
}

export interface LogKeys {
  topic(topic: string): TopicKeys;
  /** The set of topics the age sweep visits. */
  readonly topics: string;
  /** The pub/sub channel every append and reset is published on. */
  readonly channel: string;
  /** Marks that an append with this key was made (`appendOnce`), in the topic's hash slot. */
  once(topic: string, key: string): string;
}

/** Default key prefix. */
export const DEFAULT_KEY_PREFIX = 'switchboard:';

export function logKeys(prefix = DEFAULT_KEY_PREFIX): LogKeys {
  return {
    topic: (topic) => ({ meta: `${prefix}log:{${topic}}:meta`, events: `${prefix}log:{${topic}}:events` }),
    once: (topic, key) => `${prefix}log:{${topic}}:once:${key}`,
    topics: `${prefix}log:topics`,
    channel: `${prefix}log:changes`,
  };
}

/**
 * Helpers every script starts with. Lua numbers are doubles: `int` prints one without an exponent
 * (seqs and millisecond times stay far below 2^53). `meta` reads a topic's meta, creating it with
 * `new_epoch` when it is missing or was written before a restart that may have lost writes
 * (`run` is this Redis process's run_id, `durable` is '1' when a restart loses nothing).
 */
const PRELUDE = `
local function int(n) return string.format('%d', n) end
local function meta(meta_key, events_key, new_epoch, run, durable)
  local m = redis.call('HMGET', meta_key, 'epoch', 'seq', 'at', 'run')
  if m[1] and (m[4] == run or durable == '1') then
    if m[4] ~= run then redis.call('HSET', meta_key, 'run', run) end
    return m[1], tonumber(m[2]), tonumber(m[3])
  end
  redis.call('DEL', events_key)
  redis.call('HSET', meta_key, 'epoch', new_epoch, 'seq', 0, 'at', 0, 'run', run)
  return new_epoch, 0, 0
end
-- Removes the oldest entries while their at is below cutoff (at never decreases along the seqs,
-- so they are a prefix); returns how many.
local function trim_age(events_key, cutoff)
  local removed, count = 0, 1
  while true do
    local batch = redis.call('XRANGE', events_key, '-', '+', 'COUNT', count)
    local last_old = nil
    for _, entry in ipairs(batch) do
      if tonumber(entry[2][2]) < cutoff then last_old = entry[1] else break end
    end
    if not last_old then return removed end
    local next_seq = tonumber(string.match(last_old, '^(%d+)')) + 1
    removed = removed + redis.call('XTRIM', events_key, 'MINID', int(next_seq) .. '-0')
    if last_old ~= batch[#batch][1] or #batch < count then return removed end
    count = 256
  end
end
`;

/**
 * Appends one event. KEYS: meta, events, topics, and the once key (any key of the topic when
 * none). ARGV: topic, new epoch (used only when the meta is missing or stale), now (ms), data
 * (JSON), max events, max age (ms), channel, run, durable, '1' with a once key, how long a once key
 * is kept (ms). Assigns seq = top + 1 and `at` = max(now, the topic's newest at), adds the entry,
 * trims to exactly max events and past max age, moves the meta, and publishes the event. Returns
 * `{epoch, seq, at}`. With a once key that is set already, appends nothing and returns where the
 * first append went, with a fourth element 1.
 */
export const APPEND = `${PRELUDE}
if ARGV[10] == '1' then
  local done = redis.call('GET', KEYS[4])
  if done then
    local e, s, t = string.match(done, '^(%S+) (%d+) (%d+)$')
    return {e, tonumber(s), tonumber(t), 1}
  end
end
local epoch, seq, at = meta(KEYS[1], KEYS[2], ARGV[2], ARGV[8], ARGV[9])
seq = seq + 1
local now = tonumber(ARGV[3])
if now > at then at = now end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], int(seq) .. '-0', 'at', int(at), 'data', ARGV[4])
trim_age(KEYS[2], at - tonumber(ARGV[6]))
redis.call('HSET', KEYS[1], 'seq', int(seq), 'at', int(at))
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PUBLISH', ARGV[7], '{"type":"event","topic":' .. cjson.encode(ARGV[1]) .. ',"epoch":' .. cjson.encode(epoch) ..
  ',"seq":' .. int(seq) .. ',"at":' .. int(at) .. ',"data":' .. ARGV[4] .. '}')
if ARGV[10] == '1' then
  redis.call('SET', KEYS[4], epoch .. ' ' .. int(seq) .. ' ' .. int(at), 'PX', ARGV[11])
end
return {epoch, seq, at}
`;

/**
 * The head of a topic, creating its meta when missing or stale. KEYS: meta, events. ARGV: new
 * epoch, run, durable. Returns `{epoch, seq, firstSeq}`.
 */
export const HEAD = `${PRELUDE}
local epoch, seq = meta(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
local first_seq = seq + 1
if first then first_seq = tonumber(string.match(first[1], '^(%d+)')) end
return {epoch, seq, first_seq}
`;

/**
 * Up to `limit` events after a seq, if the epoch is current. KEYS: meta, events. ARGV: epoch, after
 * seq, limit. Returns `{current epoch or false, entries}`: no entries when the epoch differs.
 */
export const READ_AFTER = `${PRELUDE}
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then return {epoch, {}} end
return {epoch, redis.call('XRANGE', KEYS[2], int(tonumber(ARGV[2]) + 1) .. '-0', '+', 'COUNT', ARGV[3])}
`;

/** The newest `count` events, newest first. KEYS: meta, events. ARGV: count. Returns `{epoch or false, entries}`. */
export const NEWEST = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return {false, {}} end
return {epoch, redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[1])}
`;

/**
 * Starts a new epoch at seq 0 and forgets the events. KEYS: meta, events. ARGV: topic, new epoch,
 * channel, run. Publishes the reset; returns the new epoch.
 */
export const RESET = `
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'seq', 0, 'at', 0, 'run', ARGV[4])
redis.call('PUBLISH', ARGV[3], '{"type":"reset","topic":' .. cjson.encode(ARGV[1]) .. ',"epoch":' .. cjson.encode(ARGV[2]) .. '}')
return ARGV[2]
`;

/** Age retention of one topic. KEYS: meta, events. ARGV: cutoff (ms). Returns how many were removed, or -1 when the topic has no meta. */
export const TRIM_AGE = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return trim_age(KEYS[2], tonumber(ARGV[1]))
`;
