/**
 * The hub's composition root: the only module that wires connection, registry, streams, the
 * database, the feed, the outbox, alerts, overlays and sessions together. Hosts call
 * `openHub(platform)` and then `openSession()` once per connected view.
 */
import type { AlertsState } from '../../lib/wire/alerts';
import { toErrorData } from '../../lib/errors';
import type { HubStatus } from '../../lib/rpc/hub-api';
import { isUserName } from '../../lib/wire/ids';
import { modeOf, parseTopic, topics, type TopicId } from '../../lib/wire/topics';
import { assertNever, type ClientFrame, type ServerFrame } from '../../lib/wire/protocol';
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../../lib/rpc/settings';
import { watchUser } from '../../lib/user-change';
import { tokenSubject } from './token-subject';
import { createAlerts } from './alerts/alerts';
import { createConnection } from './connection/connection';
import { toHubStatus } from './connection/state';
import { openHubDb } from '../store/db';
import { createFeed } from './feed/feed';
import { createFeedStore } from '../store/feed-store';
import { createOutbox, type OutboxOptions } from './outbox/outbox';
import { createOutboxStore } from '../store/outbox-store';
import { createOverlayStore } from '../store/overlay-store';
import { createOverlays } from './overlays/overlays';
import type { HubPlatform, Logger, SettingsStore } from './platform';
import { createRegistry } from './sessions/registry';
import { createSession, type HubSession } from './sessions/session';
import { createSnapshotStore } from '../store/snapshot-store';
import { createStreams } from './feed/streams';

export type { HubSession };

export interface HubOptions {
  /** First backoff ceiling in ms. Default 500. */
  backoffBaseMs: number;
  /** Largest backoff ceiling in ms. Default 30 000. */
  backoffCapMs: number;
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
}

export const DEFAULT_HUB_OPTIONS: Readonly<HubOptions> = {
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  maxPingIntervalMs: 20_000,
  handshakeTimeoutMs: 10_000,
  conflate: true,
  resyncEvents: 50,
  outbox: {},
};

export interface Hub {
  openSession(): HubSession;
  status(): HubStatus;
  /** Applies new settings at once (reconnects if the server or token changed). */
  configure(settings: Settings): void;
  /**
   * Resolves once every received stream event is stored (or dropped) and announced, and every
   * outbox and overlay write so far committed.
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

/** Loads the settings, starts connecting and returns the hub. */
export async function openHub(platform: HubPlatform, options: Readonly<Partial<HubOptions>> = {}): Promise<Hub> {
  const opts: HubOptions = { ...DEFAULT_HUB_OPTIONS, ...options };
  const log = platform.log ?? silent;
  let settings = await loadSettings(platform.settings, log);
  const statusListeners = new Set<(status: HubStatus) => void>();
  const sessions = new Set<HubSession>();
  let closed = false;

  const send = (frame: ClientFrame): boolean => connection.send(frame);
  const registry = createRegistry({ send, log });
  const db = openHubDb({ factory: platform.indexedDB, log });
  /** The user of the last open connection with the current token, for while the hub is not open. */
  let lastUser: string | null = null;
  /** Whose feed and alerts the hub shows: the open connection's user, else the token's subject. */
  const currentUser = (): string | null => {
    const state = connection.state;
    if (state.s === 'open') return state.user;
    return tokenSubject(settings.token) ?? lastUser;
  };
  /** A change of the user the badge and views show means another user's feed. */
  const shownUserChanged = watchUser();
  const userMayHaveChanged = (): void => {
    if (shownUserChanged(currentUser())) void feed.refreshBadge();
  };
  const store = createFeedStore(db, currentUser);
  const feed = createFeed({ store, log, ...(platform.badge ? { badge: platform.badge } : {}) });
  const overlays = createOverlays({
    store: createOverlayStore(db),
    feed,
    clock: platform.clock,
    log,
    settings: () => settings,
    ...(platform.notifier ? { notifier: platform.notifier } : {}),
  });
  const streams = createStreams({
    store,
    send,
    clock: platform.clock,
    random: platform.random,
    log,
    onChange: (change, origin) => {
      feed.publish(change);
      overlays.stored(change.changed, origin);
    },
    options: { last: opts.resyncEvents },
  });
  const outbox = createOutbox({ store: createOutboxStore(db), send, clock: platform.clock, random: platform.random, log, options: opts.outbox });

  const alerts = createAlerts({
    outbox,
    snapshots: createSnapshotStore(db),
    clock: platform.clock,
    log,
    user: currentUser,
  });
  // The hub's own hold on `alerts:<user>`, taken on every open (the user is known from `welcome`).
  const own = registry.join((update) => {
    if (update.kind !== 'state') return; // A refused subscription is logged by the registry.
    const topic = parseTopic(update.topic);
    // The registry delivers only values that passed `parseAlertsState` (its `checkStateValue`).
    if (topic?.kind === 'alerts' && topic.arg !== undefined) alerts.receive(topic.arg, update.value as AlertsState, update.at);
  });
  let heldAlerts: TopicId | null = null;

  const route = (frame: ServerFrame): void => {
    switch (frame.t) {
      case 'state':
        return registry.receive(frame);
      case 'event':
        return streams.receive(frame);
      case 'batch':
        // Each takes its own frames: `state` values for the registry, events for the streams.
        registry.receive(frame);
        return streams.receive(frame);
      case 'subscribed':
      case 'unsubscribed':
      case 'error':
        return modeOf(frame.topic) === 'stream' ? streams.receive(frame) : registry.receive(frame);
      case 'ack':
        return outbox.receive(frame);
      case 'refreshed':
        // Token refresh over the open socket arrives with auth; nothing sends `refresh` yet.
        return log.info('token refreshed', { user: frame.user });
      case 'welcome':
      case 'ping':
      case 'pong':
        return; // The connection handles these itself.
      default:
        return assertNever(frame);
    }
  };

  const connection = createConnection({
    openSocket: platform.openSocket,
    clock: platform.clock,
    random: platform.random,
    network: platform.network,
    log,
    options: {
      backoff: { baseMs: opts.backoffBaseMs, capMs: opts.backoffCapMs },
      maxPingIntervalMs: opts.maxPingIntervalMs,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
    },
    onTransition: ({ from, to }) => {
      if (from.s === 'open') {
        streams.closed();
        outbox.closed();
        // Released while closed (nothing is sent), so the next open subscribes it exactly once.
        if (heldAlerts) own.unsubscribe([heldAlerts]);
        heldAlerts = null;
      }
      if (to.s === 'open') {
        lastUser = to.user;
        registry.resubscribeAll();
        streams.open(to.user);
        const topic = isUserName(to.user) ? parseTopic(topics.alerts(to.user)) : null;
        if (topic) {
          own.subscribe([topic]);
          heldAlerts = topic.id;
        }
        outbox.opened(to.user);
        alerts.refresh();
        userMayHaveChanged();
      }
      const status = toHubStatus(to);
      for (const listener of statusListeners) listener(status);
    },
    onFrame: route,
  });

  const hub: Hub = {
    openSession() {
      if (closed) throw new Error('The hub is closed');
      const session = createSession({
        registry,
        feed,
        alerts,
        overlays,
        store: platform.settings,
        log,
        conflate: opts.conflate,
        status: () => hub.status(),
        watchStatus: (listener) => {
          statusListeners.add(listener);
          return () => statusListeners.delete(listener);
        },
        settings: () => settings,
        configure: (next) => hub.configure(next),
        onClose: () => sessions.delete(session),
      });
      sessions.add(session);
      return session;
    },
    status: () => toHubStatus(connection.state),
    configure(next) {
      if (closed) return;
      if (next.token !== settings.token) lastUser = null;
      settings = next;
      connection.configure(next);
      alerts.refresh();
      userMayHaveChanged();
    },
    async idle() {
      await streams.idle();
      await outbox.idle();
      await overlays.idle();
    },
    close() {
      if (closed) return;
      closed = true;
      for (const session of [...sessions]) session.close();
      connection.close();
      streams.close();
      outbox.close();
      alerts.close();
      overlays.close();
      own.leave();
      db.close();
    },
  };

  // The badge shows what is stored from the start (a browser restart), before anything arrives.
  // Not awaited: a database that is slow to open (an upgrade blocked by another context) must
  // not keep the hub from connecting; the stream work simply waits for it.
  connection.configure(settings);
  shownUserChanged(currentUser());
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
