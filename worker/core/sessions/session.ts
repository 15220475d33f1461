/**
 * One view's `HubApi`. The listener is a Comlink proxy in production: every call returns a promise
 * that rejects once the view is gone, so deliveries go through conflating sinks that catch, log and
 * carry on. Status pushes are latest-only too: a slow view sees the current state, not the history.
 * Feed updates reach every session whatever it subscribed to, merged (never dropped) while the view
 * is busy, and so do alert lists (the newest whole list wins). A paused view (hidden) is sent
 * nothing but the feed's unread count until it resumes, when it gets the status and the cached
 * state values; subscriptions and the cache stay as they were. `close()` releases exactly this
 * view's subscriptions.
 */
import type { Result } from '../../../lib/errors';
import { err, ok, toErrorData } from '../../../lib/errors';
import type { HubApi, HubListener, HubStatus, TopicUpdate } from '../../../lib/rpc/hub-api';
import { parseTopic, type ParsedTopic, type TopicId } from '../../../lib/wire/topics';
import { parseSettings, type Settings } from '../../../lib/rpc/settings';
import type { Alerts } from '../alerts/alerts';
import { createConflatingSink } from './conflation';
import type { Feed } from '../feed/feed';
import type { Overlays } from '../overlays/overlays';
import type { Logger, SettingsStore } from '../platform';
import type { Registry } from './registry';

/** One view's session with the hub; `close()` releases everything the view subscribed to. */
export interface HubSession extends HubApi {
  close(): void;
}

export interface SessionDeps {
  readonly registry: Registry;
  readonly feed: Feed;
  readonly alerts: Alerts;
  readonly overlays: Overlays;
  readonly store: SettingsStore;
  readonly log: Logger;
  /** Conflate `state` updates per topic (`false` queues them all). */
  readonly conflate: boolean;
  status(): HubStatus;
  /** Calls back on every status change; returns the unsubscribe function. */
  watchStatus(listener: (status: HubStatus) => void): () => void;
  settings(): Settings;
  /** Applies saved settings (the hub reconnects if they changed). */
  configure(settings: Settings): void;
  /** Called once, when the session closes. */
  onClose(): void;
}

function parseTopics(input: unknown): ParsedTopic[] {
  if (!Array.isArray(input)) throw new TypeError('Expected an array of topic names');
  return input.map((name: unknown) => {
    const topic = parseTopic(name);
    if (!topic) throw new TypeError(`Not a topic: ${String(JSON.stringify(name))}`);
    return topic;
  });
}

export function createSession(deps: SessionDeps): HubSession {
  const { log } = deps;
  let listener: HubListener | null = null;
  let closed = false;
  let paused = false;
  /** What a paused view is sent of an update: only a feed update's unread count (its title shows it). */
  const whilePaused = (update: TopicUpdate): TopicUpdate | null =>
    update.kind === 'feed' ? { kind: 'feed', changed: [], unread: update.unread } : null;
  const deliver = (update: TopicUpdate): void => {
    const sent = paused ? whilePaused(update) : update;
    if (sent) updates.push(sent);
  };
  const membership = deps.registry.join(deliver);

  const reportFailure = (what: string) => (error: unknown) => {
    log.info(`a view did not take ${what}`, { error: toErrorData(error).message });
  };
  const updates = createConflatingSink<TopicUpdate>((batch) => listener?.updates(batch), {
    conflate: deps.conflate,
    onError: reportFailure('updates'),
  });
  // One key for every status: while the view is busy, only the newest one waits.
  const statuses = createConflatingSink<HubStatus>(
    async (batch) => {
      const latest = batch.at(-1);
      if (latest) await listener?.status(latest);
    },
    { key: () => 'status', onError: reportFailure('a status') },
  );
  const unwatchStatus = deps.watchStatus((status) => {
    if (!paused) statuses.push(status);
  });
  const unwatchFeed = deps.feed.watch(deliver);
  const unwatchAlerts = deps.alerts.watch(deliver);

  return {
    async listen(next) {
      if (closed) return deps.status();
      listener = next;
      // Updates that came before the listener were dropped; the cache holds what they said.
      for (const update of membership.cached()) updates.push(update);
      return deps.status();
    },
    async subscribe(topics) {
      const parsed = parseTopics(topics);
      if (!closed) membership.subscribe(parsed);
    },
    async unsubscribe(topics) {
      const parsed = parseTopics(topics);
      if (!closed) membership.unsubscribe(parsed.map((topic): TopicId => topic.id));
    },
    async pause() {
      if (closed || paused) return;
      paused = true;
      statuses.drain();
      for (const update of updates.drain()) deliver(update);
    },
    async resume() {
      if (closed || !paused) return;
      paused = false;
      statuses.push(deps.status());
      for (const update of membership.cached()) updates.push(update);
    },
    async status() {
      return deps.status();
    },
    feed: (limit) => deps.feed.page(limit),
    markRead: (ids) => deps.feed.markRead(ids),
    markAllRead: () => deps.feed.markAllRead(),
    alerts: () => deps.alerts.list(),
    createAlert: (rule) => deps.alerts.create(rule),
    pauseAlert: (id, paused) => deps.alerts.pause(id, paused),
    deleteAlert: (id) => deps.alerts.remove(id),
    overlay: (id) => deps.overlays.get(id),
    dismissOverlay: (id, snoozeMinutes) => deps.overlays.dismiss(id, snoozeMinutes),
    async getSettings() {
      return deps.settings();
    },
    async saveSettings(input): Promise<Result<Settings>> {
      const parsed = parseSettings(input);
      if (!parsed.ok) return parsed;
      try {
        await deps.store.save(parsed.value);
      } catch (error) {
        const data = toErrorData(error);
        log.warn('saving settings failed', { error: data.message });
        return err('StorageError', `Settings could not be saved: ${data.message}`);
      }
      deps.configure(parsed.value);
      return ok(parsed.value);
    },
    close() {
      if (closed) return;
      closed = true;
      unwatchStatus();
      unwatchFeed();
      unwatchAlerts();
      membership.leave();
      updates.close();
      statuses.close();
      listener = null;
      deps.onClose();
    },
  };
}
