/**
 * The hub's composition root: the only module that wires connection, registry and sessions
 * together. Hosts call `openHub(ports)` and then `openSession()` once per connected view.
 */
import type { HubApi, HubStatus } from '../lib/hub-api';
import { assertNever, type ServerFrame } from '../lib/protocol';
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../lib/settings';
import { createConnection, toHubStatus } from './connection';
import type { HubPorts, Logger, SettingsStore } from './ports';
import { createRegistry } from './registry';
import { createSession } from './session';

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
}

export const DEFAULT_HUB_OPTIONS: Readonly<HubOptions> = {
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  maxPingIntervalMs: 20_000,
  handshakeTimeoutMs: 10_000,
  conflate: true,
};

/** One view's connection to the hub; `close()` releases everything the view subscribed to. */
export interface HubSession extends HubApi {
  close(): void;
}

export interface Hub {
  openSession(): HubSession;
  status(): HubStatus;
  /** Applies new settings at once (reconnects if the server or token changed). */
  configure(settings: Settings): void;
  /** Closes the socket, cancels every timer and ends every session. */
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
export async function openHub(ports: HubPorts, options: Readonly<Partial<HubOptions>> = {}): Promise<Hub> {
  const opts: HubOptions = { ...DEFAULT_HUB_OPTIONS, ...options };
  const log = ports.log ?? silent;
  let settings = await loadSettings(ports.settings, log);
  const statusListeners = new Set<(status: HubStatus) => void>();
  const sessions = new Set<HubSession>();
  let closed = false;

  const registry = createRegistry({ send: (frame) => connection.send(frame), log });

  const route = (frame: ServerFrame): void => {
    switch (frame.t) {
      case 'state':
      case 'event':
      case 'batch':
      case 'subscribed':
      case 'unsubscribed':
      case 'error':
        return registry.receive(frame);
      case 'ack':
        // Client messages and their outbox arrive in a later change; nothing is sent yet.
        return log.warn('ignored an ack: nothing was sent', { id: frame.id });
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
    openSocket: ports.openSocket,
    clock: ports.clock,
    random: ports.random,
    network: ports.network,
    log,
    options: {
      backoff: { baseMs: opts.backoffBaseMs, capMs: opts.backoffCapMs },
      maxPingIntervalMs: opts.maxPingIntervalMs,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
    },
    onTransition: ({ to }) => {
      if (to.s === 'open') registry.resubscribeAll();
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
        store: ports.settings,
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
      settings = next;
      connection.configure(next);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const session of [...sessions]) session.close();
      connection.close();
    },
  };

  connection.configure(settings);
  return hub;
}
