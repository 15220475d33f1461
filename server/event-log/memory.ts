/**
 * The in-memory event log, for tests and throwaway servers. Nothing survives the process, and that
 * is stated the only honest way: every topic of a new memory log starts a new epoch, so a client
 * that returns with a cursor from before the restart is told `epoch changed`, never `recovered`.
 */
import type { NotificationData } from '../../lib/wire/notifications';
import type { StreamPosition } from '../../lib/wire/protocol';
import type { Appended, EventLog, EventLogOptions, StoredEvent, TopicHead } from './types';
import { resolveRetention } from './types';
import { createWatchers, randomEpoch } from './watchers';

interface TopicLog {
  epoch: string;
  /** The newest seq assigned. */
  seq: number;
  /** `at` of the newest event appended (0 before the first). */
  lastAt: number;
  /** Held events, contiguous seqs, oldest first. */
  events: StoredEvent[];
}

export function createMemoryEventLog(options: EventLogOptions = {}): EventLog {
  const retention = resolveRetention(options.retention);
  const now = options.now ?? Date.now;
  const newEpoch = options.newEpoch ?? randomEpoch;
  const watchers = createWatchers(options.onWatcherError);
  const topics = new Map<string, TopicLog>();
  let closed = false;

  function open(): void {
    if (closed) throw new Error('The event log is closed');
  }

  function topicLog(topic: string): TopicLog {
    let log = topics.get(topic);
    if (!log) topics.set(topic, (log = { epoch: newEpoch(), seq: 0, lastAt: 0, events: [] }));
    return log;
  }

  /** `at` never decreases along a topic's seqs, so the events older than `cutoff` are a prefix. */
  function trimAge(log: TopicLog, cutoff: number): number {
    let end = 0;
    while (end < log.events.length && log.events[end]!.at < cutoff) end += 1;
    if (end > 0) log.events.splice(0, end);
    return end;
  }

  const headOf = (log: TopicLog): TopicHead => ({ epoch: log.epoch, seq: log.seq, firstSeq: log.events[0]?.seq ?? log.seq + 1 });

  return {
    kind: 'memory',
    async append(topic: string, data: NotificationData): Promise<Appended> {
      open();
      const log = topicLog(topic);
      // A clock stepping back must not make a later event look older than an earlier one.
      const at = Math.floor(Math.max(now(), log.lastAt));
      const event: StoredEvent = Object.freeze({ topic, epoch: log.epoch, seq: log.seq + 1, at, data });
      log.seq = event.seq;
      log.lastAt = at;
      log.events.push(event);
      if (log.events.length > retention.maxEvents) log.events.splice(0, log.events.length - retention.maxEvents);
      trimAge(log, event.at - retention.maxAgeMs);
      watchers.emit({ type: 'event', event });
      return { topic, epoch: event.epoch, seq: event.seq, at: event.at };
    },
    async head(topic) {
      open();
      return headOf(topicLog(topic));
    },
    async readAfter(topic: string, after: StreamPosition, limit: number) {
      open();
      const log = topicLog(topic);
      if (after.epoch !== log.epoch || log.events.length === 0) return [];
      const start = Math.max(0, after.seq + 1 - log.events[0]!.seq);
      return log.events.slice(start, start + Math.max(0, limit));
    },
    async newest(topic, count) {
      open();
      const events = topicLog(topic).events;
      return count <= 0 ? [] : events.slice(-count);
    },
    async reset(topic) {
      open();
      const log: TopicLog = { epoch: newEpoch(), seq: 0, lastAt: 0, events: [] };
      topics.set(topic, log);
      watchers.emit({ type: 'reset', topic, epoch: log.epoch });
      return headOf(log);
    },
    async trim() {
      open();
      const cutoff = now() - retention.maxAgeMs;
      let removed = 0;
      for (const log of topics.values()) removed += trimAge(log, cutoff);
      return removed;
    },
    watch: (watcher) => watchers.add(watcher),
    async close() {
      closed = true;
      watchers.clear();
    },
  };
}
