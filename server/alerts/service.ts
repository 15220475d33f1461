/**
 * The alert service: where client messages, ticks and the clock meet the engine and the store.
 *
 * - A client message is applied at most once: its id is looked up, the decision made
 *   (`messages.ts`), the id, ack and effect committed in one store transaction, and only then the
 *   engine changed and `alerts:<user>` republished. A repeated id gets the recorded ack and
 *   changes nothing. Messages and store writes run one at a time, in order, so a lookup and its
 *   commit are never interleaved with another write.
 * - Only applied messages are recorded: a refusal changed nothing, so a repeat of it is decided
 *   afresh (and may apply then, once). A user keeps at most `appliedPerUser` records, the oldest
 *   forgotten first, and none past `appliedRetentionMs`: a flood of unique ids costs a bounded
 *   store. A retry whose record was forgotten is decided afresh against the alerts as they are:
 *   a create finds its alertId taken and a delete finds its alert gone (refused, nothing changes;
 *   creates are keyed by alertId, so never a second alert), and an update or pause sets its own
 *   values again (which undoes a change made since, and a create whose alert was deleted since
 *   makes it again). That takes `appliedPerUser` later messages of the same user between the first
 *   try and the retry, while a hub retries its unacknowledged message before it sends anything
 *   else: only the user's other devices could send them.
 * - Every tick is evaluated synchronously, so the engine never fires a rule twice however fast
 *   ticks come; what fired is then appended to `feed:<user>` and its new state saved, in that
 *   order. A crash between the two can at worst fire an alert once more after the restart; the
 *   other order could lose the notification.
 * - A periodic sweep expires what is due without waiting for a tick, saves symbols' last prices,
 *   and forgets applied message ids past their retention.
 *
 * Several nodes (`shared`, on Redis): the store is the truth and every node's engine a copy of it.
 * A message is decided against the user's alerts as the store holds them now and applied only if
 * they did not change meanwhile (`ifRevision`), retried when they did; the same id applied on two
 * nodes at once is applied once, the other answered from the record. Every change is announced on
 * the store's channel and the other nodes read that user again (`changed`); after an outage of
 * that channel a node reads everything again (`resync`). Only the node holding the alert lease
 * fires and expires alerts (`leading`): it reads everything when its tenure begins, writes states
 * under its fence (a node that lost the lease writes nothing), and appends each firing to the feed
 * once by the key `alert:<id>:<fireCount>`, so the node that takes over after a crash between the
 * append and the state write fires it again into the same key: one notification. The other nodes
 * only record prices, so the windows of `percent-move` rules are warm when one of them takes over.
 *
 * Restarts: alerts, their status, firing history and the moment each rule started watching are in
 * the store. The last price of every symbol is saved by the sweep (and on close), not on every
 * tick, which would cost an fsync per tick: after a crash a `crossing` rule may compare its next
 * tick with a price up to one sweep old, and `percent-move` windows start over from the last
 * saved price. A symbol's FIRST price is saved at once (one write per symbol, ever), so a crash
 * never makes the server forget a symbol and refuse alerts on it as unknown.
 */
import type { AlertMessageKind, AlertsState, ServerAlert } from '../../lib/wire/alerts';
import type { MessageId } from '../../lib/wire/ids';
import type { NotificationData } from '../../lib/wire/notifications';
import type { PriceTick } from '../../lib/wire/prices';
import { topics } from '../../lib/wire/topics';
import { firedNotification } from './feed-event';
import { applyMessage, type ApplyMessageDeps, type MessageOutcome, type SharedAlerts } from './apply-message';

export type { MessageOutcome, SharedAlerts } from './apply-message';
import { readEveryAlert, readUser } from './shared-sync';
import { FencedOffError } from './store-errors';
import type { AckOutcome, AlertStore, SharedAlertStore, SymbolPrice } from './store-types';
import type { AlertsTopic } from './topic';
import type { AlertEngine, EngineOutcome } from './types';


/** How often applied message ids past their retention are trimmed. */
const TRIM_EVERY_MS = 3_600_000;

export interface AlertServiceDeps {
  readonly store: AlertStore;
  readonly engine: AlertEngine;
  readonly topic: Pick<AlertsTopic, 'publish'>;
  /** Appends to a stream topic; resolves once durable. */
  readonly publishEvent: (topic: string, data: NotificationData) => Promise<unknown>;
  readonly metrics: {
    alertsFired(count: number): void;
    alertsExpired(count: number): void;
    /** One tick evaluated, looking at `examined` rules. */
    alertTickEvaluated(examined: number): void;
  };
  /** True when a user's alerts still fit one `state` frame. */
  readonly fits: (state: AlertsState) => boolean;
  readonly now: () => number;
  /** Something failed outside any request (a feed append, a store write); the service carries on. */
  readonly onError: (error: unknown, what: string) => void;
  /** Interval of the sweep. */
  readonly sweepMs: number;
  /** How long applied message ids and their acks are kept. */
  readonly appliedRetentionMs: number;
  /** How many applied message ids of one user are kept; past it the oldest are forgotten. */
  readonly appliedPerUser: number;
  /** Several nodes share the store (see the file comment). Default: this node alone. */
  readonly shared?: SharedAlerts;
}




export interface AlertService {
  /** Applies one alert message (at most once per user and id); never rejects for a bad message, only for a store failure. */
  handle(user: string, messageId: MessageId, kind: AlertMessageKind, body: unknown): Promise<{ readonly ack: AckOutcome; readonly outcome: MessageOutcome }>;
  /** Evaluates a tick that went through the price book. */
  onTick(tick: PriceTick): void;
  /** Expires what is due, saves prices, trims old message ids when due; resolves once written. The timer calls it. */
  sweep(): Promise<void>;
  /** A user's alerts as the server holds them, newest first. */
  list(user: string): ServerAlert[];
  /** Resolves once everything so far (feed events of fired alerts, saved states) is written. */
  settled(): Promise<void>;
  /** Shared: another node changed `user`'s alerts; read them again. */
  changed(user: string): void;
  /** Shared: announcements may have been missed; read every alert again. */
  resync(): Promise<void>;
  /**
   * Shared: this node holds the alert lease with `fence` (it fires and expires alerts from now on,
   * once it has read every alert), or no longer does (`undefined`).
   */
  leading(fence: number | undefined): void;
  /** Stops the sweep, writes what is pending and closes the store. */
  close(): Promise<void>;
}

/**
 * Writes fired and expired states under `fence`; false when the lease moved on (another node
 * holds it, read the states as they are and evaluates from there), so nothing was written.
 */
async function saveFenced(store: SharedAlertStore, alerts: readonly ServerAlert[], fence: number | undefined, onError: AlertServiceDeps['onError']): Promise<boolean> {
  try {
    await store.saveStates(alerts, fence);
    return true;
  } catch (error) {
    if (!(error instanceof FencedOffError)) throw error;
    onError(error, 'saving fired alerts after the lease moved on');
    return false;
  }
}

/** Puts what the store holds into the engine. */
function restore(engine: AlertEngine, loaded: Awaited<ReturnType<AlertStore['load']>>): void {
  // Prices first: a rule that started before a restored price has seen it (see HeldAlert.since).
  for (const { symbol, price, at } of loaded.prices) engine.seed(symbol, price, at);
  for (const held of loaded.alerts) engine.put(held);
}

/** Loads the store into the engine, expires what came due while stopped, and starts the sweep. */
export async function openAlertService(deps: AlertServiceDeps): Promise<AlertService> {
  const { store, engine, topic, metrics } = deps;
  /** A service that fails to open leaves its store closed. */
  const closeAndRethrow = async (error: unknown): Promise<never> => {
    await store.close();
    throw error;
  };
  const loaded = await store.load().catch(closeAndRethrow);
  restore(engine, loaded);

  let chain: Promise<unknown> = Promise.resolve();
  /** Runs `work` after everything queued before it; a failure does not stop what follows. */
  function enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = chain.then(work);
    chain = result.catch(() => undefined);
    return result;
  }

  const dirtyPrices = new Set<string>();
  /** Symbols with a saved price; a tick of any other is saved at once. */
  const savedSymbols = new Set(loaded.prices.map((p) => p.symbol));
  let lastTrim = -Infinity;
  let closing: Promise<void> | undefined;
  const { shared } = deps;
  /** The fence this node fires and expires alerts under; alone, it always does (no fence). */
  let evaluating: { readonly fence: number | undefined } | null = shared ? null : { fence: undefined };
  /** Counts lease changes, so a tenure that ended while its start-up read ran does not begin. */
  let tenure = 0;
  /** Users whose alerts another node changed, with a read of them queued and not yet begun. */
  const toRead = new Set<string>();

  async function persist(outcome: EngineOutcome, fence: number | undefined): Promise<void> {
    // Appended together, so they share one group commit of the log; each feed gets its alerts in
    // the order they fired, because appends are sequenced in the order they are made.
    const append = (firing: EngineOutcome['fired'][number]) =>
      shared
        ? shared.publishOnce(topics.feed(firing.user), firedNotification(firing), `alert:${firing.alert.id}:${firing.alert.fireCount}`)
        : deps.publishEvent(topics.feed(firing.user), firedNotification(firing));
    const appended = await Promise.allSettled(outcome.fired.map(append));
    for (const result of appended) if (result.status === 'rejected') deps.onError(result.reason, 'appending a fired alert to the feed');
    // The state as it is now: a message applied meanwhile may already have moved the alert on.
    const ids = new Set([...outcome.fired.map((f) => f.alert.id), ...outcome.expired.map((h) => h.alert.id)]);
    const current = [...ids].flatMap((id) => engine.get(id)?.alert ?? []);
    if (!shared) return store.saveStates(current);
    if (!(await saveFenced(shared.store, current, fence, deps.onError)) && evaluating?.fence === fence) evaluating = null;
  }

  /** Tells subscribers, counts, and queues the writes of what a tick or sweep changed. */
  function settle(outcome: EngineOutcome): void {
    if (outcome.fired.length === 0 && outcome.expired.length === 0) return;
    metrics.alertsFired(outcome.fired.length);
    metrics.alertsExpired(outcome.expired.length);
    const users = new Set([...outcome.fired.map((f) => f.user), ...outcome.expired.map((h) => h.user)]);
    for (const user of users) topic.publish(user);
    const fence = evaluating?.fence;
    enqueue(() => persist(outcome, fence)).catch((error: unknown) => deps.onError(error, 'saving fired or expired alerts'));
  }

  function sweep(): Promise<void> {
    // Expiry, saved prices and trimming are the evaluating node's work.
    if (!evaluating) return Promise.resolve();
    const now = deps.now();
    settle(engine.sweep(now));
    const prices = [...dirtyPrices].flatMap((symbol): SymbolPrice[] => {
      const last = engine.lastPrice(symbol);
      return last ? [{ symbol, ...last }] : [];
    });
    dirtyPrices.clear();
    const trim = now - lastTrim >= TRIM_EVERY_MS;
    if (trim) lastTrim = now;
    return enqueue(async () => {
      await store.savePrices(prices);
      if (trim) await store.trimApplied(now - deps.appliedRetentionMs);
    });
  }

  const refreshUser = (user: string): Promise<number> => readUser(shared!.store, engine, topic, user);
  const readAll = (): Promise<void> => readEveryAlert(store, engine, topic);
  const applying: ApplyMessageDeps = { store, shared, engine, topic, fits: deps.fits, now: deps.now, appliedPerUser: deps.appliedPerUser, refreshUser };

  // Expire what came due while the server was stopped before anyone can see it as active.
  await sweep().catch(closeAndRethrow);
  const sweepTimer = setInterval(() => {
    sweep().catch((error: unknown) => deps.onError(error, 'alert sweep'));
  }, deps.sweepMs);
  sweepTimer.unref();

  return {
    handle(user, messageId, kind, body) {
      return enqueue(() => applyMessage(applying, user, messageId, kind, body));
    },
    onTick(tick) {
      if (closing) return;
      // Not evaluating: only the price, so this node's windows are warm if it takes over.
      if (!evaluating) return engine.seed(tick.symbol, tick.price, tick.at);
      const outcome = engine.tick(tick.symbol, tick.price, tick.at);
      if (savedSymbols.has(tick.symbol)) dirtyPrices.add(tick.symbol);
      else {
        savedSymbols.add(tick.symbol);
        const first: SymbolPrice = { symbol: tick.symbol, price: tick.price, at: tick.at };
        enqueue(() => store.savePrices([first])).catch((error: unknown) => deps.onError(error, 'saving a new symbol'));
      }
      metrics.alertTickEvaluated(outcome.examined);
      settle(outcome);
    },
    sweep,
    list: (user) => engine.list(user),
    settled: () => enqueue(async () => undefined),
    changed(user) {
      // A flush of a thousand messages on another node announces a thousand changes: one read
      // waiting in the queue covers all that came before it ran.
      if (!shared || closing || toRead.has(user)) return;
      toRead.add(user);
      enqueue(() => {
        toRead.delete(user);
        return refreshUser(user);
      }).catch((error: unknown) => deps.onError(error, `reading the alerts of ${user} another node changed`));
    },
    resync() {
      if (!shared || closing) return Promise.resolve();
      return enqueue(readAll);
    },
    leading(fence) {
      if (!shared || closing) return;
      const mine = ++tenure;
      if (fence === undefined) {
        evaluating = null;
        return;
      }
      // Evaluating starts from every alert as the store holds it; `sweep` queues its own writes,
      // so it runs after the read, not inside it.
      enqueue(readAll)
        .then(() => {
          if (tenure !== mine || closing) return;
          evaluating = { fence };
          return sweep();
        })
        .catch((error: unknown) => deps.onError(error, 'starting to evaluate alerts'));
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweepTimer);
        await sweep().catch((error: unknown) => deps.onError(error, 'final alert sweep'));
        await chain;
        await store.close();
      })();
      return closing;
    },
  };
}
