/**
 * The subscription registry (the multiplexer): which views hold which topics, and the one server
 * subscription behind each topic. Topics are reference-counted across members (one per view):
 * the first holder sends `subscribe`, the last one leaving sends `unsubscribe`, and every held
 * topic is subscribed again whenever the connection opens. The latest value of each `state` topic
 * is cached, so a view that subscribes late gets it at once.
 *
 * A `prices:*` subscription makes the server send `state` frames for the concrete `prices:SYM`
 * topics; those reach every member holding `prices:*` or that concrete topic.
 *
 * Only `state` topics live here. `stream` topics (`feed:<user>`, `news`) are the hub's own
 * (`../feed/streams.ts`): a view holding one changes nothing, as every view receives the feed anyway.
 */
import type { StateUpdate, TopicUpdate } from '../../../lib/rpc/hub-api';
import { parseTopic, TOPIC_KINDS, topics, type ParsedTopic, type TopicId } from '../../../lib/wire/topics';
import { parsePriceTick } from '../../../lib/wire/prices';
import { implausibleTime } from '../../../lib/wire/times';
import type { ClientFrame, FrameOf, ServerFrame, StateFrame, TopicMode } from '../../../lib/wire/protocol';
import { parseAlertsState } from '../alerts/alert-list';
import type { Clock, Logger } from '../platform';

/**
 * The server frames the registry handles; the composition root routes them here (for a `batch`,
 * the registry takes its `state` frames and leaves the events to the streams).
 */
export type RegistryFrame = FrameOf<ServerFrame, 'state' | 'batch' | 'subscribed' | 'unsubscribed' | 'error'>;

export interface RegistryDeps {
  /** Sends a frame if the connection is open; returns `false` otherwise (the topic is sent on open). */
  send(frame: ClientFrame): boolean;
  readonly log: Logger;
  /** For the check that a value's times are not years ahead of the hub's clock. */
  readonly clock: Pick<Clock, 'now'>;
}

/** One view's hold on topics. */
export interface Membership {
  /** Adds topics (holding one twice is holding it once); cached values are delivered at once. */
  subscribe(topics: readonly ParsedTopic[]): void;
  unsubscribe(topics: readonly TopicId[]): void;
  /** Cached latest values of every topic this member holds, `prices:*` expanded. */
  cached(): StateUpdate[];
  /** Releases every topic this member holds. */
  leave(): void;
}

export interface Registry {
  /** Adds a member; `deliver` receives each update for the topics it holds. */
  join(deliver: (update: TopicUpdate) => void): Membership;
  /** The connection (re)opened: subscribe every held topic again. */
  resubscribeAll(): void;
  receive(frame: RegistryFrame): void;
  /** Topics with a server subscription, in the order they were first held. */
  topics(): TopicId[];
}

interface Member {
  readonly deliver: (update: TopicUpdate) => void;
  readonly topics: Set<TopicId>;
}

interface Entry {
  readonly topic: ParsedTopic;
  readonly mode: TopicMode;
  readonly members: Set<Member>;
}

/**
 * A `state` frame's value checked against its topic, its times against the hub's clock `now`, or
 * why it is not acceptable. A refused value changes nothing: the last good one stays.
 */
function checkStateValue(topic: ParsedTopic, frame: StateFrame, now: number): { ok: true; value: unknown } | { ok: false; why: string } {
  const late = implausibleTime(frame.at, now);
  if (late !== null) return { ok: false, why: `frame ${late}` };
  if (topic.kind === 'alerts') {
    const alerts = parseAlertsState(frame.value, now);
    return alerts.ok ? alerts : { ok: false, why: `not a valid alert list: ${alerts.error}` };
  }
  if (topic.kind !== 'prices') return { ok: false, why: `${topic.kind} topics carry no state values` };
  const tick = parsePriceTick(frame.value);
  if (!tick) return { ok: false, why: 'not a valid price tick' };
  if (tick.symbol !== topic.arg) return { ok: false, why: `tick for ${tick.symbol} on ${topic.id}` };
  const tickLate = implausibleTime(tick.at, now);
  if (tickLate !== null) return { ok: false, why: `tick ${tickLate}` };
  return { ok: true, value: tick };
}

export function createRegistry(deps: RegistryDeps): Registry {
  const { log } = deps;
  const entries = new Map<TopicId, Entry>();
  /** Latest value per concrete `state` topic, kept while someone holds the topic or `prices:*`. */
  const latest = new Map<TopicId, StateUpdate>();

  const subscribeFrame = (entry: Entry): ClientFrame => ({ t: 'subscribe', topic: entry.topic.id });

  function covered(topic: TopicId): boolean {
    if (entries.has(topic)) return true;
    return entries.has(topics.allPrices) && parseTopic(topic)?.kind === 'prices';
  }

  function cachedFor(topic: ParsedTopic): StateUpdate[] {
    if (topic.kind !== 'prices-all') {
      const update = latest.get(topic.id);
      return update ? [update] : [];
    }
    return [...latest.values()].filter((update) => parseTopic(update.topic)?.kind === 'prices');
  }

  function deliverTo(members: Iterable<Member>, update: TopicUpdate): void {
    for (const member of members) {
      try {
        member.deliver(update);
      } catch (error) {
        // One view's failure must not keep the update from the others.
        log.warn('delivery to a view failed', { kind: update.kind, error: String(error) });
      }
    }
  }

  function hold(member: Member, topic: ParsedTopic): void {
    const mode = TOPIC_KINDS[topic.kind].mode;
    if (mode === 'stream' || member.topics.has(topic.id)) return;
    member.topics.add(topic.id);
    let entry = entries.get(topic.id);
    if (!entry) {
      entry = { topic, mode, members: new Set() };
      entries.set(topic.id, entry);
      deps.send(subscribeFrame(entry));
    }
    entry.members.add(member);
    for (const update of cachedFor(topic)) deliverTo([member], update);
  }

  function release(member: Member, topic: TopicId): void {
    if (!member.topics.delete(topic)) return;
    const entry = entries.get(topic);
    if (!entry) return;
    entry.members.delete(member);
    if (entry.members.size > 0) return;
    entries.delete(topic);
    deps.send({ t: 'unsubscribe', topic });
    // Values nobody receives any more would only go stale.
    for (const cachedTopic of latest.keys()) if (!covered(cachedTopic)) latest.delete(cachedTopic);
  }

  function onState(frame: StateFrame): void {
    const topic = parseTopic(frame.topic);
    if (!topic || topic.kind === 'prices-all') return log.warn('ignored state for an unknown topic', { topic: frame.topic });
    const checked = checkStateValue(topic, frame, deps.clock.now());
    if (!checked.ok) return log.warn('ignored an invalid state value', { topic: topic.id, why: checked.why });
    // Frames still in flight after the last holder left are expected; nobody wants them.
    if (!covered(topic.id)) return;
    const update: StateUpdate = { kind: 'state', topic: topic.id, value: checked.value, at: frame.at };
    latest.set(topic.id, update);
    const members = new Set(entries.get(topic.id)?.members);
    if (topic.kind === 'prices') for (const member of entries.get(topics.allPrices)?.members ?? []) members.add(member);
    deliverTo(members, update);
  }

  function receive(frame: RegistryFrame): void {
    switch (frame.t) {
      case 'state':
        return onState(frame);
      case 'batch':
        for (const inner of frame.frames) if (inner.t === 'state') onState(inner);
        return;
      case 'subscribed': {
        const entry = entries.get(frame.topic as TopicId);
        if (entry && entry.mode !== frame.mode) {
          log.warn('server reports another mode for a topic', { topic: frame.topic, expected: entry.mode, got: frame.mode });
        }
        return;
      }
      case 'unsubscribed':
        return log.info('server ended a subscription', { topic: frame.topic, reason: frame.reason });
      case 'error': {
        log.warn('server refused a topic', { topic: frame.topic, code: frame.code, message: frame.message });
        const entry = frame.topic === undefined ? undefined : entries.get(frame.topic as TopicId);
        if (!entry) return;
        deliverTo(entry.members, { kind: 'error', topic: entry.topic.id, code: frame.code, message: frame.message });
        return;
      }
    }
  }

  return {
    join(deliver) {
      const member: Member = { deliver, topics: new Set() };
      return {
        subscribe(topics) {
          for (const topic of topics) hold(member, topic);
        },
        unsubscribe(topics) {
          for (const topic of topics) release(member, topic);
        },
        cached() {
          const byTopic = new Map<string, StateUpdate>();
          for (const id of member.topics) {
            const entry = entries.get(id);
            if (entry) for (const update of cachedFor(entry.topic)) byTopic.set(update.topic, update);
          }
          return [...byTopic.values()];
        },
        leave() {
          for (const topic of [...member.topics]) release(member, topic);
        },
      };
    },
    resubscribeAll() {
      for (const entry of entries.values()) deps.send(subscribeFrame(entry));
    },
    receive,
    topics: () => [...entries.keys()],
  };
}
