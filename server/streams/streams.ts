/**
 * The server's stream topics as one part: the event log (opened here unless one was injected),
 * the fan-out every append is dispatched to (and counted), the periodic retention sweep, and the
 * one way the admin API and the alert service append to or reset a stream topic.
 */
import type { Logger } from 'pino';
import type { NotificationData } from '../../lib/wire/notifications';
import { parseTopic, streamTopic, type TopicId } from '../../lib/wire/topics';
import { openEventLog } from '../event-log/open';
import type { Appended, EventLog, Retention, TopicHead } from '../event-log/types';
import type { Metrics } from '../metrics';
import type { ServerOptions } from '../options';
import { createStreamFanout, type StreamFanout } from './fanout';

export interface Streams {
  readonly log: EventLog;
  readonly fanout: StreamFanout;
  /** Appends to a stream topic (`feed:<user>`, `news`) and fans it out; resolves once durable. Throws on another topic. */
  publish(topic: string, data: NotificationData): Promise<Appended>;
  /**
   * Shared stores only: appends unless an append with `key` was made before (`EventLog.appendOnce`);
   * undefined when the log cannot.
   */
  readonly publishOnce: ((topic: string, data: NotificationData, key: string) => Promise<Appended>) | undefined;
  /** Starts a new epoch for a stream topic. Throws on another topic. */
  reset(topic: string): Promise<TopicHead>;
  /** Stops the retention sweep and the dispatch to the fan-out. Idempotent. */
  stop(): void;
  /** Stops, then closes the log if it was opened here (an injected one is the caller's to close). */
  close(): Promise<void>;
}

export interface StreamsDeps {
  readonly options: Pick<ServerOptions, 'eventLog' | 'store' | 'dataDir' | 'retention' | 'now' | 'redisUrl'>;
  readonly metrics: Pick<Metrics, 'eventAppended' | 'publishToWrite'>;
  readonly logger: Logger;
  /** Counts and logs a failure the server carries on after. */
  readonly reportError: (error: unknown, message: string) => void;
  /** Whether this node runs the age-retention sweep now: with several nodes, only one does. Default always. */
  readonly sweeps?: () => boolean;
}

/** How often old events are swept: a tenth of the age limit, from once a second to once an hour. */
function sweepInterval(retention: Retention): number {
  return Math.min(3_600_000, Math.max(1_000, Math.floor(retention.maxAgeMs / 10)));
}

/** Callers validate first; a topic that is not a stream here is a bug. */
function requireStream(topic: string): TopicId {
  const id = streamTopic(topic);
  if (id === null) throw new RangeError(`Not a stream topic: ${JSON.stringify(topic)}`);
  return id;
}

export async function openStreams(deps: StreamsDeps): Promise<Streams> {
  const { options, logger, reportError } = deps;
  const ownLog = options.eventLog === undefined;
  const log =
    options.eventLog ??
    (await openEventLog({
      store: options.store,
      dataDir: options.dataDir,
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl, logger }),
      retention: options.retention,
      now: options.now,
      onWatcherError: (error) => reportError(error, 'event log watcher failed'),
    }));
  const fanout = createStreamFanout({
    onDeliverError: (error) => reportError(error, 'event delivery failed'),
    now: options.now,
    observe: (seconds) => deps.metrics.publishToWrite('stream', seconds),
  });
  // Counted where appended, not where heard: with several nodes every node hears every append.
  const counted = (appended: Appended): Appended => {
    deps.metrics.eventAppended(parseTopic(appended.topic)?.kind ?? 'other');
    return appended;
  };
  const unwatch = log.watch((change) => fanout.dispatch(change));
  const retentionSweep = setInterval(() => {
    if (deps.sweeps && !deps.sweeps()) return;
    log.trim().catch((error: unknown) => logger.error({ err: error }, 'retention sweep failed'));
  }, sweepInterval(options.retention));
  retentionSweep.unref();

  function stop(): void {
    clearInterval(retentionSweep);
    unwatch();
  }

  return {
    log,
    fanout,
    publish: async (topic, data) => counted(await log.append(requireStream(topic), data)),
    publishOnce: log.appendOnce ? async (topic, data, key) => counted(await log.appendOnce!(requireStream(topic), data, key)) : undefined,
    async reset(topic) {
      const id = requireStream(topic);
      logger.warn({ topic: id }, 'topic reset to a new epoch');
      return log.reset(id);
    },
    stop,
    async close() {
      stop();
      if (ownLog) await log.close();
    },
  };
}
