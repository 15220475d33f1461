/**
 * The server's alerts as one part: the `alerts:<user>` topic, the store (the same choice as the
 * event log's), and the service that joins them to the engine, the feeds and the clock.
 */
import type { Codec } from '../../lib/wire/codec';
import type { ServerFrames } from '../clients/frames';
import type { NotificationData } from '../../lib/wire/notifications';
import type { StoreKind } from '../event-log/open';
import type { ServerOptions } from '../options';
import { createAlertsFrameFit } from './frame-fit';
import { openAlertStore } from './open-store';
import type { SharedAlertStore } from './store-types';
import { openAlertService, type AlertService, type AlertServiceDeps } from './service';
import { createAlertsTopic, type AlertsTopic } from './topic';
import type { AlertEngine } from './types';

export interface Alerts {
  readonly service: AlertService;
  readonly topic: AlertsTopic;
  /** With several nodes: the shared store (its lease and change channel are the server's to wire). */
  readonly shared: SharedAlertStore | undefined;
}

export interface AlertsDeps {
  readonly options: Pick<
    ServerOptions,
    'dataDir' | 'maxFrameBytes' | 'now' | 'flushMs' | 'alertSweepMs' | 'clientMessageRetentionMs' | 'maxClientMessageIdsPerUser' | 'redisUrl' | 'logger'
  >;
  /**
   * Where alerts are kept: they outlive a restart exactly when the log does, so this is the log's
   * store when the server opened its own, and `memory` beside an injected log (the caller's business).
   */
  readonly store: StoreKind;
  readonly engine: AlertEngine;
  readonly codec: Codec;
  /** The server's shared frames: each alerts value is encoded once for all its watchers. */
  readonly frames: Pick<ServerFrames, 'prepare'>;
  readonly metrics: AlertServiceDeps['metrics'];
  /** Appends a fired alert's notification to `feed:<user>`. */
  readonly publishEvent: (topic: string, data: NotificationData) => Promise<unknown>;
  /** With several nodes: appends it unless one with `key` was appended before (see `EventLog.appendOnce`). */
  readonly publishOnce?: (topic: string, data: NotificationData, key: string) => Promise<unknown>;
  /** Counts and logs a failure the server carries on after. */
  readonly reportError: (error: unknown, message: string) => void;
}

export async function openAlerts(deps: AlertsDeps): Promise<Alerts> {
  const { options, engine, codec, reportError } = deps;
  const topic = createAlertsTopic({
    snapshot: (user) => ({ alerts: engine.list(user) }),
    frames: deps.frames,
    now: options.now,
    flushMs: options.flushMs,
    onDeliverError: (error) => reportError(error, 'alerts delivery failed'),
  });
  const frameFit = createAlertsFrameFit(codec, options.maxFrameBytes);
  const store = await openAlertStore({
    store: deps.store,
    dataDir: options.dataDir,
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    logger: options.logger,
  });
  const shared = deps.store === 'redis' ? (store as SharedAlertStore) : undefined;
  if (shared && !deps.publishOnce) {
    await store.close();
    throw new Error('Alerts on a shared store need an event log that appends once (appendOnce)');
  }
  const service = await openAlertService({
    store,
    ...(shared && deps.publishOnce ? { shared: { store: shared, publishOnce: deps.publishOnce } } : {}),
    engine,
    topic,
    publishEvent: deps.publishEvent,
    metrics: deps.metrics,
    fits: (state) => frameFit.fits(state, options.now()),
    now: options.now,
    onError: (error, what) => reportError(error, `alerts: ${what} failed`),
    sweepMs: options.alertSweepMs,
    appliedRetentionMs: options.clientMessageRetentionMs,
    appliedPerUser: options.maxClientMessageIdsPerUser,
  });
  return { service, topic, shared };
}
