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
 *
 * One per signed-in connection, and most connections sit idle holding a few topics or none, so
 * what it holds is made when first needed: the sets of held topics, and the stream subscriptions
 * (with their replay machinery) on the first stream topic. The client's outbound is its target in
 * the price fan-out and the alerts topic.
 */
import type { ClientFrame, ErrorCode, FrameOf } from '../../lib/wire/protocol';
import { isStreamTopic, parseTopic, readRefusal, unknownTopicMessage, type ParsedTopic } from '../../lib/wire/topics';
import type { AlertsTopic } from '../alerts/topic';
import type { EventLog } from '../event-log/types';
import type { Metrics, RefusalReason, SubscriptionRefusal } from '../metrics';
import { ALL_SYMBOLS, type PriceFanout } from '../prices/fanout';
import type { StreamFanout } from '../streams/fanout';
import { createStreamTopics, type StreamLimits, type StreamTopics } from '../streams/topics';
import type { Outbound } from './outbound';

/** The connection the subscriptions belong to; called as methods. */
export interface SubscriptionsHost {
  /** Closes the client (guarded). */
  drop(code: number, reason: string, refusal?: RefusalReason): void;
  /** A handler failed unexpectedly: closes the client with 1011. */
  fail(error: unknown): void;
}

export interface SubscriptionsDeps {
  /** The client's user, for the ACL. */
  readonly user: string;
  readonly out: Outbound;
  readonly host: SubscriptionsHost;
  readonly fanout: PriceFanout;
  readonly alerts: Pick<AlertsTopic, 'subscribe' | 'unsubscribe'>;
  readonly log: EventLog;
  readonly streamFanout: StreamFanout;
  readonly streamLimits: StreamLimits;
  readonly metrics: Metrics;
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

class TopicSubscriptions implements Subscriptions {
  private priceTopics: Set<string> | undefined;
  /** `alerts:<user>` topics held (the ACL allows only the client's own) and their users. */
  private alertTopics: Map<string, string> | undefined;
  private streams: StreamTopics | undefined;

  constructor(private readonly deps: SubscriptionsDeps) {}

  get size(): number {
    return (this.priceTopics?.size ?? 0) + (this.alertTopics?.size ?? 0) + (this.streams?.size ?? 0);
  }

  subscribe({ topic, since, last }: FrameOf<ClientFrame, 'subscribe'>): void {
    const { deps } = this;
    const parsed = this.parse(topic, 'unknown-topic');
    if (!parsed) return;
    const refusal = readRefusal(deps.user, parsed);
    if (refusal !== null) return this.refuse('forbidden', 'forbidden', topic, refusal);
    const holding = this.priceTopics?.has(topic) || this.alertTopics?.has(topic) || this.streams?.has(topic);
    if (!holding && this.size >= deps.maxTopics) {
      return this.refuse('too-many-topics', 'rate-limited', topic, `At most ${deps.maxTopics} topics per connection`);
    }
    if (isStreamTopic(parsed)) return this.openStreams().subscribe(parsed.id, since, last ?? 0);
    if (holding) return deps.out.send({ t: 'subscribed', topic, mode: 'state' });
    if (parsed.kind === 'alerts') {
      (this.alertTopics ??= new Map()).set(topic, parsed.arg!);
      deps.out.send({ t: 'subscribed', topic, mode: 'state' });
      return deps.alerts.subscribe(parsed.arg!, deps.out);
    }
    const selector = selectorOf(parsed);
    (this.priceTopics ??= new Set()).add(topic);
    deps.fanout.subscribe(deps.out, selector);
    deps.out.send({ t: 'subscribed', topic, mode: 'state' });
    deps.fanout.snapshot(deps.out, selector);
  }

  unsubscribe({ topic }: FrameOf<ClientFrame, 'unsubscribe'>): void {
    const { deps } = this;
    const parsed = this.parse(topic, null);
    if (!parsed) return;
    if (isStreamTopic(parsed)) this.streams?.unsubscribe(topic);
    else if (parsed.kind === 'alerts') {
      if (this.alertTopics?.delete(topic)) deps.alerts.unsubscribe(parsed.arg!, deps.out);
    } else if (this.priceTopics?.delete(topic)) deps.fanout.unsubscribe(deps.out, selectorOf(parsed));
    deps.out.send({ t: 'unsubscribed', topic });
  }

  clear(): void {
    const { deps } = this;
    for (const user of this.alertTopics?.values() ?? []) deps.alerts.unsubscribe(user, deps.out);
    this.alertTopics = undefined;
    if (this.priceTopics) deps.fanout.remove(deps.out);
    this.priceTopics = undefined;
    this.streams?.clear();
  }

  private openStreams(): StreamTopics {
    const { deps } = this;
    const { host } = deps;
    return (this.streams ??= createStreamTopics({
      log: deps.log,
      fanout: deps.streamFanout,
      out: deps.out,
      metrics: deps.metrics,
      limits: deps.streamLimits,
      drop: (code, reason, refusal) => host.drop(code, reason, refusal),
      onError: (error) => host.fail(error),
    }));
  }

  private refuse(reason: SubscriptionRefusal | null, code: ErrorCode, topic: string, message: string): void {
    if (reason) this.deps.metrics.subscriptionRefused(reason);
    this.deps.out.send({ t: 'error', code, topic, message });
  }

  private parse(topic: string, reason: SubscriptionRefusal | null): ParsedTopic | null {
    const parsed = parseTopic(topic);
    if (!parsed) this.refuse(reason, 'unknown-topic', topic, unknownTopicMessage(topic));
    return parsed;
  }
}

export function createSubscriptions(deps: SubscriptionsDeps): Subscriptions {
  return new TopicSubscriptions(deps);
}
