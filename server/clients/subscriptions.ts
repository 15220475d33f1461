/**
 * One client's topics: answers `subscribe` / `unsubscribe` after checking the topic name, the
 * ACL and the per-connection limit (each refusal an `error` frame naming the topic, counted), then
 * routes `stream` topics (`feed:<user>`, `news`) to the stream subscriptions, price `state` topics
 * (`prices:*`) to the price fan-out and `alerts:<user>` to the alerts topic. For a state topic the
 * snapshot follows `subscribed` at once.
 * Subscribing again to a topic the connection holds is answered with `subscribed` but sends
 * nothing the client already has: a state topic's snapshot and every change since were sent (a
 * change still pending follows as usual), and a stream topic continues from the last event sent
 * (`streams/topics.ts`). Otherwise one client re-subscribing in a loop could make the server copy
 * the same snapshot or replay into its send buffer without end.
 */
import type { ClientFrame, ErrorCode, FrameOf } from '../../lib/wire/protocol';
import { isStreamTopic, parseTopic, readRefusal, unknownTopicMessage, type ParsedTopic } from '../../lib/wire/topics';
import type { AlertsTarget, AlertsTopic } from '../alerts/topic';
import type { Metrics, SubscriptionRefusal } from '../metrics';
import type { PriceBook } from '../prices/book';
import { ALL_SYMBOLS, stateFrame, type FanoutTarget, type PriceFanout } from '../prices/fanout';
import type { StreamTopics } from '../streams/topics';
import type { Outbound } from './outbound';

export interface SubscriptionsDeps {
  /** The client's user, for the ACL. */
  readonly user: string;
  readonly target: FanoutTarget;
  readonly fanout: PriceFanout;
  readonly book: PriceBook;
  readonly streams: StreamTopics;
  readonly alerts: Pick<AlertsTopic, 'subscribe' | 'unsubscribe'>;
  readonly out: Pick<Outbound, 'send' | 'sendStates'>;
  readonly metrics: Pick<Metrics, 'subscriptionRefused'>;
  readonly maxTopics: number;
}

export interface Subscriptions {
  subscribe(frame: FrameOf<ClientFrame, 'subscribe'>): void;
  unsubscribe(frame: FrameOf<ClientFrame, 'unsubscribe'>): void;
  /** Leaves every topic (the client closed). */
  clear(): void;
  readonly size: number;
}

/** The fan-out key of a prices topic. */
const selectorOf = (topic: ParsedTopic): string => (topic.kind === 'prices-all' ? ALL_SYMBOLS : topic.arg!);

export function createSubscriptions(deps: SubscriptionsDeps): Subscriptions {
  const { out, streams } = deps;
  const priceTopics = new Set<string>();
  /** `alerts:<user>` topics held (the ACL allows only the client's own). */
  const alertTopics = new Map<string, string>();
  const alertsTarget: AlertsTarget = { send: (frame) => out.send(frame) };
  const held = () => priceTopics.size + alertTopics.size + streams.size;

  function refuse(reason: SubscriptionRefusal | null, code: ErrorCode, topic: string, message: string): void {
    if (reason) deps.metrics.subscriptionRefused(reason);
    out.send({ t: 'error', code, topic, message });
  }

  function parse(topic: string, reason: SubscriptionRefusal | null): ParsedTopic | null {
    const parsed = parseTopic(topic);
    if (!parsed) {
      refuse(reason, 'unknown-topic', topic, unknownTopicMessage(topic));
    }
    return parsed;
  }

  function subscribePrices(topic: string, selector: string): void {
    priceTopics.add(topic);
    deps.fanout.subscribe(deps.target, selector);
    out.send({ t: 'subscribed', topic, mode: 'state' });
    // The snapshot is the latest value, so anything still pending for these topics is redundant.
    deps.fanout.discardPending(deps.target, selector);
    if (selector === ALL_SYMBOLS) {
      const all = [...deps.book.all()].map(stateFrame);
      if (all.length > 0) out.sendStates(all);
      return;
    }
    const tick = deps.book.get(selector);
    if (tick) out.send(stateFrame(tick));
  }

  return {
    subscribe({ topic, since, last }) {
      const parsed = parse(topic, 'unknown-topic');
      if (!parsed) return;
      const refusal = readRefusal(deps.user, parsed);
      if (refusal !== null) return refuse('forbidden', 'forbidden', topic, refusal);
      const holding = priceTopics.has(topic) || alertTopics.has(topic) || streams.has(topic);
      if (!holding && held() >= deps.maxTopics) {
        return refuse('too-many-topics', 'rate-limited', topic, `At most ${deps.maxTopics} topics per connection`);
      }
      if (isStreamTopic(parsed)) return streams.subscribe(parsed.id, since, last ?? 0);
      if (holding) return out.send({ t: 'subscribed', topic, mode: 'state' });
      if (parsed.kind === 'alerts') {
        alertTopics.set(topic, parsed.arg!);
        out.send({ t: 'subscribed', topic, mode: 'state' });
        return deps.alerts.subscribe(parsed.arg!, alertsTarget);
      }
      subscribePrices(topic, selectorOf(parsed));
    },
    unsubscribe({ topic }) {
      const parsed = parse(topic, null);
      if (!parsed) return;
      if (isStreamTopic(parsed)) streams.unsubscribe(topic);
      else if (parsed.kind === 'alerts') {
        if (alertTopics.delete(topic)) deps.alerts.unsubscribe(parsed.arg!, alertsTarget);
      } else if (priceTopics.delete(topic)) deps.fanout.unsubscribe(deps.target, selectorOf(parsed));
      out.send({ t: 'unsubscribed', topic });
    },
    clear() {
      for (const user of alertTopics.values()) deps.alerts.unsubscribe(user, alertsTarget);
      alertTopics.clear();
      priceTopics.clear();
      deps.fanout.remove(deps.target);
      streams.clear();
    },
    get size() {
      return held();
    },
  };
}
