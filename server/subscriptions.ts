/**
 * One connection's topics: answers `subscribe` / `unsubscribe`, sends the snapshot of a `state`
 * topic right after `subscribed`, and keeps the fan-out's index in step. Subscribing twice is
 * idempotent: the second answer repeats `subscribed` and the snapshot.
 */
import { parseTopic, type ParsedTopic } from '../lib/ids';
import type { ClientFrame, FrameOf, ServerFrame, StateFrame } from '../lib/protocol';
import { ALL_SYMBOLS, stateFrame, type FanoutTarget, type PriceFanout } from './fanout';
import type { PriceBook } from './price-book';

export interface SubscriptionsDeps {
  readonly target: FanoutTarget;
  readonly fanout: PriceFanout;
  readonly book: PriceBook;
  readonly send: (frame: ServerFrame) => void;
  /** Sends state frames as `state` or as size-limited `batch` frames. */
  readonly sendStates: (frames: readonly StateFrame[]) => void;
  readonly maxTopics: number;
}

export interface Subscriptions {
  subscribe(frame: FrameOf<ClientFrame, 'subscribe'>): void;
  unsubscribe(frame: FrameOf<ClientFrame, 'unsubscribe'>): void;
  /** Leaves every topic (the connection closed). */
  clear(): void;
  readonly size: number;
}

/** The fan-out key of a prices topic; `null` for families not served yet. */
function selectorOf(topic: ParsedTopic): string | null {
  if (topic.kind === 'prices-all') return ALL_SYMBOLS;
  if (topic.kind === 'prices' && topic.arg !== undefined) return topic.arg;
  return null;
}

export function createSubscriptions(deps: SubscriptionsDeps): Subscriptions {
  const topics = new Set<string>();

  function unknownTopic(topic: string, why: string): void {
    deps.send({ t: 'error', code: 'unknown-topic', topic, message: `Unknown topic ${JSON.stringify(topic)}: ${why}` });
  }

  function resolve(topic: string): { parsed: ParsedTopic; selector: string } | null {
    const parsed = parseTopic(topic);
    if (!parsed) {
      unknownTopic(topic, 'not a topic name this server knows');
      return null;
    }
    const selector = selectorOf(parsed);
    if (selector === null) {
      unknownTopic(topic, `${parsed.kind} topics are not served yet; use prices:<SYMBOL> or prices:*`);
      return null;
    }
    return { parsed, selector };
  }

  return {
    subscribe({ topic }) {
      const found = resolve(topic);
      if (!found) return;
      if (!topics.has(topic) && topics.size >= deps.maxTopics) {
        deps.send({ t: 'error', code: 'rate-limited', topic, message: `At most ${deps.maxTopics} topics per connection` });
        return;
      }
      topics.add(topic);
      deps.fanout.subscribe(deps.target, found.selector);
      deps.send({ t: 'subscribed', topic, mode: 'state' });
      // The snapshot is the latest value, so anything still pending for these topics is redundant.
      deps.fanout.discardPending(deps.target, found.selector);
      if (found.selector === ALL_SYMBOLS) {
        const all = [...deps.book.all()].map(stateFrame);
        if (all.length > 0) deps.sendStates(all);
        return;
      }
      const tick = deps.book.get(found.selector);
      if (tick) deps.send(stateFrame(tick));
    },
    unsubscribe({ topic }) {
      const found = resolve(topic);
      if (!found) return;
      if (topics.delete(topic)) deps.fanout.unsubscribe(deps.target, found.selector);
      deps.send({ t: 'unsubscribed', topic });
    },
    clear() {
      topics.clear();
      deps.fanout.remove(deps.target);
    },
    get size() {
      return topics.size;
    },
  };
}
