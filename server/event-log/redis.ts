/**
 * The event log on Redis Streams, shared by every server node started with the same Redis: one
 * stream per topic plus a meta hash holding its epoch and top seq (layout and scripts in
 * `redis-scripts.ts`). An append is one Lua script, atomic in Redis: it assigns seq = top + 1,
 * adds the entry, trims the topic to exactly `maxEvents` and past `maxAgeMs`, moves the meta and
 * publishes the event to every node, and `append` resolves only after Redis replied, so only an
 * event Redis acknowledged is acknowledged. How much of that survives a Redis crash is Redis's
 * persistence setting (see README). A topic whose log Redis lost (its meta is gone, or it came back
 * from a restart that may have dropped recent writes: `redis-process.ts`) starts a new epoch on its
 * next use, so clients resynchronise with the visible gap marker rather than trust a cursor from
 * the lost life. Event data is stored as JSON text (field `data`), readable with `redis-cli`.
 *
 * Scripts are sent whole (`EVAL`) rather than by digest: `EVALSHA` with a retry on `NOSCRIPT`
 * (after Redis restarted) could reorder appends made together on one connection, and those must
 * get their seqs in call order. Redis caches each script body by its digest all the same.
 *
 * The node holds two connections: commands, and one subscriber to the change channel. What the
 * watchers hear, in order and once, from this node's replies and the channel is
 * `redis-changes.ts`; after either connection comes back, every topic this node follows is read up
 * to its head, so nothing published meanwhile is skipped. While Redis is unreachable every call
 * rejects at once with `StoreUnavailableError` (and `available()` is false).
 */
import type { NotificationData } from '../../lib/wire/notifications';
import type { StreamPosition } from '../../lib/wire/protocol';
import { isStoreUnavailable } from '../common/unavailable';
import { closeRedis, connectRedis, unavailableError, withRedis, type RedisConnectionOptions } from '../redis/client';
import { createChangeSequencer } from './redis-changes';
import { trackRedisProcess } from './redis-process';
import { APPEND, HEAD, logKeys, NEWEST, READ_AFTER, RESET, TRIM_AGE } from './redis-scripts';
import { decodeEntries, parseChange, replyTuple } from './redis-replies';
import type { Appended, EventLog, EventLogOptions, LogChange, StoredEvent, TopicHead } from './types';
import { resolveRetention } from './types';
import { createWatchers, randomEpoch } from './watchers';

export interface RedisEventLogOptions extends EventLogOptions, RedisConnectionOptions {
  /** Prepended to every key and to the channel, so several services can share one Redis. Default `switchboard:`. */
  readonly keyPrefix?: string;
  /** How long an own change waits for its echo on the channel before the log is read instead. Default 250. */
  readonly echoWaitMs?: number;
  /** Most topics whose position the node keeps for gap detection and catch-up. Default 100000. */
  readonly maxTrackedTopics?: number;
  /** Hears a malformed message on the change channel, or a failed read of the log for the watchers. Default `console.error`. */
  readonly onError?: (error: unknown) => void;
  /**
   * Whether a restarted Redis still holds every write it acknowledged (AOF with `appendfsync
   * always`), so a topic keeps its epoch across the restart; otherwise every topic starts a new
   * epoch on its first use after one. Default: asked from Redis (`CONFIG GET`) on every connection;
   * false where `CONFIG` is refused.
   */
  readonly restartKeepsLog?: boolean;
}


export interface RedisEventLog extends EventLog {
  readonly kind: 'redis';
  appendOnce(topic: string, data: NotificationData, key: string): Promise<Appended>;
  /** Whether both connections to Redis are up right now. */
  available(): boolean;
}

/** Topics swept per round of `trim()`. */
const TRIM_BATCH = 256;

/** Opens the log on the Redis at `options.url`; rejects with `StoreUnavailableError` if it cannot be reached within `connectTimeoutMs`. */
export async function openRedisEventLog(options: RedisEventLogOptions): Promise<RedisEventLog> {
  const retention = resolveRetention(options.retention);
  const now = options.now ?? Date.now;
  const newEpoch = options.newEpoch ?? randomEpoch;
  const watchers = createWatchers(options.onWatcherError);
  const keys = logKeys(options.keyPrefix);
  const { url } = options;
  const report = options.onError ?? ((error: unknown) => console.error('redis event log:', error));
  const client = await connectRedis(options, 'log');
  const subscriber = await connectRedis(options, 'log-changes').catch(async (error: unknown) => {
    await closeRedis(client);
    throw error;
  });
  let closed = false;

  const script = (what: string, body: string, topic: string, args: readonly string[]) => {
    const k = keys.topic(topic);
    return withRedis(url, what, () => client.eval(body, { keys: [k.meta, k.events], arguments: [...args] }));
  };

  /** The topic's current epoch (`null` when it has no log) and up to `limit` events after `after` in that epoch. */
  async function read(topic: string, after: StreamPosition, limit: number) {
    const from = Number.isFinite(after.seq) ? Math.max(0, Math.floor(after.seq)) : 0;
    const reply = replyTuple(await script(`read ${topic}`, READ_AFTER, topic, [after.epoch, String(from), String(Math.floor(limit))]));
    const epoch = typeof reply[0] === 'string' ? reply[0] : null;
    const events = epoch === after.epoch ? decodeEntries(topic, epoch, reply[1]) : [];
    return { epoch, events };
  }

  const sequencer = createChangeSequencer({
    emit: (change) => watchers.emit(change),
    read,
    subscribed: () => subscriber.isReady,
    // Unreachable Redis is reported by the connection itself, and the fill is retried on reconnect.
    onFillError: (error) => isStoreUnavailable(error) || report(error),
    echoWaitMs: options.echoWaitMs,
    maxTopics: options.maxTrackedTopics,
  });

  // node-redis subscribes again before it reports `ready`, so a catch-up from then misses nothing.
  function catchUp(): void {
    if (!closed && redisProcess.known() && subscriber.isReady) void sequencer.catchUp();
  }

  function onMessage(message: string): void {
    const change = parseChange(message);
    if (change) sequencer.heard(change);
    else report(new Error(`Ignored a malformed message on ${keys.channel}: ${message.slice(0, 200)}`));
  }

  const redisProcess = trackRedisProcess(client, { url, restartKeepsLog: options.restartKeepsLog, onIdentified: catchUp, onError: report });
  try {
    await withRedis(url, `subscribe to ${keys.channel}`, () => subscriber.subscribe(keys.channel, onMessage));
    await redisProcess.start();
  } catch (error) {
    await Promise.all([closeRedis(client), closeRedis(subscriber)]);
    throw error;
  }
  subscriber.on('ready', catchUp);

  function open(): void {
    if (closed) throw new Error('The event log is closed');
  }

  const toAppended = (event: StoredEvent): Appended => ({ topic: event.topic, epoch: event.epoch, seq: event.seq, at: event.at });

  /** Appends, or with `once`, appends unless an append with that key was made (then answers where it went). */
  async function appendWith(topic: string, data: NotificationData, once: string | null): Promise<Appended> {
    open();
    const { run, durable } = redisProcess.current(`append to ${topic}`);
    const k = keys.topic(topic);
    const onceKey = once === null ? k.meta : keys.once(topic, once);
    const args = [topic, newEpoch(), String(Math.floor(now())), JSON.stringify(data), String(retention.maxEvents), String(retention.maxAgeMs), keys.channel, run, durable];
    args.push(once === null ? '' : '1', String(retention.maxAgeMs));
    const reply = await withRedis(url, `append to ${topic}`, () => client.eval(APPEND, { keys: [k.meta, k.events, keys.topics, onceKey], arguments: args }));
    const [epoch, seq, at] = replyTuple(reply);
    const event: StoredEvent = { topic, epoch: String(epoch), seq: Number(seq), at: Number(at), data };
    const repeat = Array.isArray(reply) && reply.length > 3;
    if (!repeat) await sequencer.own({ type: 'event', event });
    return toAppended(event);
  }

  return {
    kind: 'redis',
    available: () => !closed && redisProcess.known() && client.isReady && subscriber.isReady,
    append: (topic: string, data: NotificationData) => appendWith(topic, data, null),
    appendOnce: (topic: string, data: NotificationData, key: string) => appendWith(topic, data, key),
    async head(topic: string): Promise<TopicHead> {
      open();
      const { run, durable } = redisProcess.current(`read the head of ${topic}`);
      const [epoch, seq, firstSeq] = replyTuple(await script(`read the head of ${topic}`, HEAD, topic, [newEpoch(), run, durable]));
      const head: TopicHead = { epoch: String(epoch), seq: Number(seq), firstSeq: Number(firstSeq) };
      sequencer.sawHead(topic, head);
      return head;
    },
    async readAfter(topic, after, limit) {
      open();
      if (!(limit >= 1)) return [];
      return (await read(topic, after, limit)).events;
    },
    async newest(topic, count) {
      open();
      if (!(count >= 1)) return [];
      const [epoch, entries] = replyTuple(await script(`read ${topic}`, NEWEST, topic, [String(Math.floor(count))]));
      return typeof epoch === 'string' ? decodeEntries(topic, epoch, entries).reverse() : [];
    },
    async reset(topic) {
      open();
      const { run } = redisProcess.current(`reset ${topic}`);
      const epoch = String(await script(`reset ${topic}`, RESET, topic, [topic, newEpoch(), keys.channel, run]));
      const change: LogChange = { type: 'reset', topic, epoch };
      await sequencer.own(change);
      return { epoch, seq: 0, firstSeq: 1 };
    },
    async trim() {
      open();
      const cutoff = String(Math.floor(now() - retention.maxAgeMs));
      let removed = 0;
      try {
        for await (const batch of client.sScanIterator(keys.topics, { COUNT: TRIM_BATCH })) {
          const counts = await Promise.all(batch.map((topic) => script(`trim ${topic}`, TRIM_AGE, String(topic), [cutoff])));
          const gone = batch.filter((_, i) => Number(counts[i]) < 0);
          // A topic whose log was lost has nothing to sweep; its next append adds it again.
          if (gone.length > 0) await client.sRem(keys.topics, gone);
          removed += counts.reduce<number>((sum, n) => sum + Math.max(0, Number(n)), 0);
        }
      } catch (error) {
        throw unavailableError(error, url, 'sweep old events');
      }
      return removed;
    },
    watch: (watcher) => watchers.add(watcher),
    async close() {
      if (closed) return;
      closed = true;
      // Commands already sent are answered (and their appends resolved) before the connections go.
      await Promise.all([closeRedis(client), closeRedis(subscriber)]);
      sequencer.close();
      watchers.clear();
    },
  };
}
