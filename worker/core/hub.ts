/**
 * The hub's composition root: the only module that wires connection, registry, streams, the
 * database, the feed, the outbox, alerts, overlays and sessions together. Hosts call
 * `openHub(platform)` and then `openSession()` once per connected view.
 *
 * The parts are built in dependency order: the database, the connection (idle until configured),
 * whose user the hub shows, the parts that send through the connection, and last what the
 * connection tells them (`./router.ts` for frames, `followConnection` for transitions).
 */
import { toErrorData } from '../../lib/errors';
import type { HubStatus } from '../../lib/rpc/hub-api';
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../../lib/rpc/settings';
import type { ClientFrame } from '../../lib/wire/protocol';
import type { BackoffOptions } from '../../lib/backoff';
import { createAlerts, type Alerts } from './alerts/alerts';
import { holdAlertsTopic, type AlertsTopic } from './alerts/alerts-topic';
import { createConnection } from './connection/connection';
import { createConnectionEvents } from './connection/events';
import { createRefusals } from './connection/refusal';
import { toHubStatus, type Transition } from './connection/state';
import { createFeed } from './feed/feed';
import { createStreams, type Streams } from './feed/streams';
import { createOutbox, type Outbox, type OutboxOptions } from './outbox/outbox';
import { createOverlays } from './overlays/overlays';
import type { HubPlatform, Logger, SettingsStore, SocketFactory } from './platform';
import { createTransportChoice, type TransportChoice } from './transports/transport-choice';
import { createTransportWriter, recallTransports, type TransportStore } from './transports/transport-memory';
import { DEFAULT_TRANSPORT_PLAN, type TransportPlanOptions } from './transports/transport-plan';
import { createFrameRouter } from './router';
import { createRegistry, type Registry } from './sessions/registry';
import type { HubSession } from './sessions/session';
import { createViews } from './sessions/views';
import { createShownUser, type ShownUser } from './shown-user';
import { openHubDb } from '../store/db';
import { createFeedStore } from '../store/feed-store';
import { createOutboxStore } from '../store/outbox-store';
import { createTransportStore } from '../store/transport-store';
import { createOverlayStore } from '../store/overlay-store';
import { createRefusalStore } from '../store/refusal-store';
import { createSnapshotStore } from '../store/snapshot-store';

export type { HubSession };

export interface HubOptions {
  /** First backoff ceiling in ms. Default 500. */
  backoffBaseMs: number;
  /** Largest backoff ceiling in ms. Default 30 000. */
  backoffCapMs: number;
  /**
   * The backoff after close 1013 (the server is busy or full): never sooner than `minMs`, then full
   * jitter below a ceiling that starts at `baseMs` and doubles up to `capMs`, so hubs turned away
   * together come back spread out. Default `{ minMs: 5 000, baseMs: 15 000, capMs: 120 000 }`.
   */
  busyBackoff: BackoffOptions;
  /** Client ping interval upper bound in ms; ≤ 20 s keeps a Chrome MV3 service worker alive. Default 20 000. */
  maxPingIntervalMs: number;
  /** How long the socket may take to open and the server to answer `welcome`, in ms. Default 10 000. */
  handshakeTimeoutMs: number;
  /** Conflate `state` updates per view (latest value per topic); `false` queues every update. Default `true`. */
  conflate: boolean;
  /** Newest events a stream subscription asks for when it cannot replay from a cursor. Default 50. */
  resyncEvents: number;
  /** Outbox timing: ack timeout, retry backoff, maximum age. Defaults in `DEFAULT_OUTBOX_OPTIONS`. */
  outbox: Partial<OutboxOptions>;
  /** When to step down to the HTTP transports and back (used when the platform has `fetch`). Defaults in `DEFAULT_TRANSPORT_PLAN`. */
  transports: Partial<TransportPlanOptions>;
}

export const DEFAULT_HUB_OPTIONS: Readonly<HubOptions> = {
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  busyBackoff: { minMs: 5_000, baseMs: 15_000, capMs: 120_000 },
  maxPingIntervalMs: 20_000,
  handshakeTimeoutMs: 10_000,
  conflate: true,
  resyncEvents: 50,
  outbox: {},
  transports: {},
};

export interface Hub {
  openSession(): HubSession;
  status(): HubStatus;
  /** Applies new settings at once (reconnects if the server or token changed). */
  configure(settings: Settings): void;
  /**
   * Resolves once every received stream event is stored (or dropped) and announced, and every
   * outbox, overlay and refusal write so far committed.
   */
  idle(): Promise<void>;
  /**
   * Closes the socket, cancels every timer, ends every session and closes the database (writes in
   * flight still commit; events not yet written are fetched again on the next start).
   */
  close(): void;
}

const silent: Logger = { info: () => {}, warn: () => {} };

/** Stored settings, or the defaults when there are none or they are unreadable. */
async function loadSettings(store: SettingsStore, log: Logger): Promise<Settings> {
  try {
    const parsed = parseSettings(await store.load());
    if (parsed.ok) return parsed.value;
    log.warn('stored settings are invalid; using the defaults', { error: parsed.error.message });
  } catch (error) {
    log.warn('settings could not be loaded; using the defaults', { error: String(error) });
  }
  return DEFAULT_SETTINGS;
}

/** The parts that follow the connection as it opens and leaves open. */
interface Followers {
  readonly registry: Registry;
  readonly streams: Streams;
  readonly outbox: Outbox;
  readonly alerts: Alerts;
  readonly alertsTopic: AlertsTopic;
  readonly shown: ShownUser;
  /** The user shown may have changed: refresh what depends on it. */
  userMayHaveChanged(): void;
  /** Every status change goes to the views. */
  status(status: HubStatus): void;
}

/** What each part does when the connection leaves open or opens. */
function followConnection(parts: Followers, { from, to }: Transition): void {
  if (from.s === 'open') {
    parts.streams.closed();
    parts.outbox.closed();
    // Released while closed (nothing is sent), so the next open subscribes it exactly once.
    parts.alertsTopic.closed();
  }
  if (to.s === 'open') {
    parts.shown.opened(to.user);
    parts.registry.resubscribeAll();
    parts.streams.open(to.user);
    parts.alertsTopic.opened(to.user);
    parts.outbox.opened(to.user);
    parts.alerts.refresh();
    parts.userMayHaveChanged();
  }
  parts.status(toHubStatus(to));
}

/**
 * The platform's WebSocket alone, or, when the host has `fetch`, the transport choice over it and
 * the HTTP transports, starting from what worked before (`store`).
 */
async function chooseTransports(platform: HubPlatform, opts: HubOptions, log: Logger, store: TransportStore): Promise<SocketFactory & Partial<Pick<TransportChoice, 'close'>>> {
  if (!platform.fetch) return platform.openSocket;
  return createTransportChoice({
    initial: await recallTransports(store, platform.clock, log),
    remember: createTransportWriter(store, log),
    openWebSocket: platform.openSocket,
    fetch: platform.fetch,
    clock: platform.clock,
    network: platform.network,
    log,
    options: { ...DEFAULT_TRANSPORT_PLAN, ...opts.transports },
    ...(platform.deliveryHook ? { deliveryHook: platform.deliveryHook } : {}),
  });
}

/** Loads the settings, starts connecting and returns the hub. */
export async function openHub(platform: HubPlatform, options: Readonly<Partial<HubOptions>> = {}): Promise<Hub> {
  const opts: HubOptions = { ...DEFAULT_HUB_OPTIONS, ...options };
  const log = platform.log ?? silent;
  const { clock, random } = platform;
  const db = openHubDb({ factory: platform.indexedDB, log });
  // Side by side: a Chrome service worker woken by its alarm waits for both before it connects.
  const [loaded, openSocket] = await Promise.all([loadSettings(platform.settings, log), chooseTransports(platform, opts, log, createTransportStore(db))]);
  let settings = loaded;
  let closed = false;

  const events = createConnectionEvents();
  const connection = createConnection({
    openSocket,
    clock,
    random,
    network: platform.network,
    log,
    options: {
      backoff: { baseMs: opts.backoffBaseMs, capMs: opts.backoffCapMs },
      busyBackoff: opts.busyBackoff,
      maxPingIntervalMs: opts.maxPingIntervalMs,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
    },
    onTransition: events.onTransition,
    onFrame: events.onFrame,
  });
  const send = (frame: ClientFrame): boolean => connection.send(frame);
  const refusals = createRefusals({ store: createRefusalStore(db), clock, log });
  const shown = createShownUser({ connection, token: () => settings.token });

  const registry = createRegistry({ send, log, clock });
  const store = createFeedStore(db, shown.current);
  const feed = createFeed({ store, log, ...(platform.badge ? { badge: platform.badge } : {}) });
  /** A change of the user the badge and views show means another user's feed. */
  const userMayHaveChanged = (): void => {
    if (shown.changed()) void feed.refreshBadge();
  };
  const overlays = createOverlays({
    store: createOverlayStore(db),
    feed,
    clock,
    log,
    settings: () => settings,
    ...(platform.notifier ? { notifier: platform.notifier } : {}),
  });
  const streams = createStreams({
    store,
    send,
    clock,
    random,
    log,
    onChange: (change, origin) => {
      feed.publish(change);
      overlays.stored(change.changed, origin);
    },
    options: { last: opts.resyncEvents },
  });
  const outbox = createOutbox({ store: createOutboxStore(db), send, clock, random, log, options: opts.outbox });
  const alerts = createAlerts({ outbox, snapshots: createSnapshotStore(db), clock, log, user: shown.current });
  const alertsTopic = holdAlertsTopic({ registry, alerts });

  const configure = (next: Settings): void => {
    if (closed) return;
    if (next.token !== settings.token) shown.forgetLast();
    settings = next;
    connection.configure(next);
    alerts.refresh();
    userMayHaveChanged();
  };
  const views = createViews({
    registry,
    feed,
    alerts,
    overlays,
    store: platform.settings,
    log,
    conflate: opts.conflate,
    status: () => toHubStatus(connection.state),
    settings: () => settings,
    configure,
  });

  const followers: Followers = { registry, streams, outbox, alerts, alertsTopic, shown, userMayHaveChanged, status: views.status };
  events.attach({
    onTransition: (change) => {
      refusals.follow(change, settings);
      followConnection(followers, change);
    },
    onFrame: createFrameRouter({ registry, streams, outbox, log }),
  });

  const hub: Hub = {
    openSession() {
      if (closed) throw new Error('The hub is closed');
      return views.open();
    },
    status: () => toHubStatus(connection.state),
    configure,
    async idle() {
      await streams.idle();
      await outbox.idle();
      await overlays.idle();
      await refusals.idle();
    },
    close() {
      if (closed) return;
      closed = true;
      views.closeAll();
      connection.close();
      openSocket.close?.();
      streams.close();
      outbox.close();
      alerts.close();
      overlays.close();
      alertsTopic.leave();
      db.close();
    },
  };

  // The badge shows what is stored from the start (a browser restart), before anything arrives.
  // Not awaited: a database that is slow to open (an upgrade blocked by another context) must
  // not keep the hub from connecting; the stream work simply waits for it. Only the refusal the
  // server gave these very settings before is read first (for at most a second): asking again on
  // every start would knock on a server that refused for good.
  const refused = await refusals.recall(settings);
  if (refused) connection.configureRefused(settings, refused);
  else connection.configure(settings);
  shown.changed();
  void feed.refreshBadge();
  // The stored alert list of the token's user, shown until the server's arrives.
  alerts.refresh();
  return hub;
}

/**
 * `openHub(platform)` once, for every caller of the returned function; a failed open is logged and
 * retried by the next caller.
 */
export function hubOpener(platform: HubPlatform): () => Promise<Hub> {
  let hub: Promise<Hub> | null = null;
  return () => {
    hub ??= openHub(platform).catch((error: unknown) => {
      (platform.log ?? silent).warn('could not open the hub', { error: toErrorData(error) });
      hub = null;
      throw error;
    });
    return hub;
  };
}
