/**
 * The server's Prometheus metrics on a registry of its own (not prom-client's global one), so
 * several servers in one test process never share or clash over counters.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Recovery } from '../lib/protocol';

/**
 * Why a connection was refused at the upgrade or closed by the server for cause: a token that is
 * no good (`unauthorized`, 4010), an expired one at the handshake or while connected (`expired`,
 * 4011), a refresh for another user (`wrong-user`, 4010), a client that cannot keep up with its
 * stream events (`slow-consumer`, 1013), and the protocol faults.
 */
export type RefusalReason =
  | 'origin'
  | 'path'
  | 'version'
  | 'unauthorized'
  | 'expired'
  | 'wrong-user'
  | 'not-ready'
  | 'bad-frames'
  | 'handshake-timeout'
  | 'ping-timeout'
  | 'slow-consumer';

const REFUSAL_REASONS: readonly RefusalReason[] = [
  'origin',
  'path',
  'version',
  'unauthorized',
  'expired',
  'wrong-user',
  'not-ready',
  'bad-frames',
  'handshake-timeout',
  'ping-timeout',
  'slow-consumer',
];

/** Why a `subscribe` was refused (the connection stays). */
export type SubscriptionRefusal = 'forbidden' | 'invalid-cursor' | 'unknown-topic' | 'too-many-topics';
const SUBSCRIPTION_REFUSALS: readonly SubscriptionRefusal[] = ['forbidden', 'invalid-cursor', 'unknown-topic', 'too-many-topics'];
const RECOVERIES: readonly Recovery[] = ['fresh', 'recovered', 'trimmed', 'epoch changed'];

/**
 * How a client message went: applied now, a repeated id answered with its recorded ack
 * (`duplicate`), refused as `invalid`, or `failed` on our side (the client retries).
 */
export type ClientMessageOutcome = 'applied' | 'duplicate' | 'refused' | 'failed';
const CLIENT_MESSAGE_OUTCOMES: readonly ClientMessageOutcome[] = ['applied', 'duplicate', 'refused', 'failed'];
/** Message kinds counted by name; any other is counted as `other`, so clients cannot grow the label set. */
const CLIENT_MESSAGE_KINDS: readonly string[] = ['alert.create', 'alert.update', 'alert.pause', 'alert.delete'];

/** Why an incoming frame was rejected: a codec failure code, or a protocol misuse. */
export type RejectionCode = 'bad-frame' | 'unknown-frame' | 'too-large' | 'invalid' | 'protocol';

export interface Metrics {
  readonly registry: Registry;
  framesReceived(type: string): void;
  framesSent(type: string, count?: number): void;
  frameRejected(code: RejectionCode): void;
  connectionRefused(reason: RefusalReason): void;
  subscriptionRefused(reason: SubscriptionRefusal): void;
  /** A `stream` subscription took effect with this outcome. */
  streamSubscribed(recovery: Recovery): void;
  /** An event was appended to a topic's log (`kind`: the topic family, e.g. `feed`, `news`). */
  eventAppended(kind: string): void;
  /** Events sent from the log right after `subscribed` (a replayed gap or the newest `last`). */
  eventsReplayed(count: number): void;
  /** Events sent live, as they were appended. */
  eventsDelivered(count: number): void;
  priceTick(): void;
  /** A client message was answered; `kind` outside the known kinds is counted as `other`. */
  clientMessage(kind: string, outcome: ClientMessageOutcome): void;
  alertsFired(count: number): void;
  alertsExpired(count: number): void;
  /** The alert engine evaluated one tick, looking at `examined` rules. */
  alertTickEvaluated(examined: number): void;
  handlerError(): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * `openConnections` is read at scrape time, so the gauge cannot drift from the truth whatever path
 * a socket took to close.
 */
export function createMetrics(deps: { openConnections: () => number; heldAlerts?: () => number }): Metrics {
  const registry = new Registry();
  new Gauge({
    name: 'switchboard_ws_connections',
    help: 'Currently open WebSocket connections',
    registers: [registry],
    collect() {
      this.set(deps.openConnections());
    },
  });
  const received = new Counter({
    name: 'switchboard_frames_received_total',
    help: 'Valid frames received from clients, by frame type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const sent = new Counter({
    name: 'switchboard_frames_sent_total',
    help: 'Frames sent to clients, by frame type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'switchboard_frames_rejected_total',
    help: 'Incoming frames rejected, by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'switchboard_connections_refused_total',
    help: 'Connections refused or closed by the server for cause, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const subscriptionsRefused = new Counter({
    name: 'switchboard_subscriptions_refused_total',
    help: 'Subscriptions refused, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const streamSubscriptions = new Counter({
    name: 'switchboard_stream_subscriptions_total',
    help: 'Stream subscriptions that took effect, by recovery outcome',
    labelNames: ['recovery'] as const,
    registers: [registry],
  });
  const appended = new Counter({
    name: 'switchboard_events_appended_total',
    help: 'Events appended to stream topic logs, by topic family',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const replayed = new Counter({
    name: 'switchboard_events_replayed_total',
    help: 'Stream events sent from the log on subscribe (replayed gaps and newest-last resyncs)',
    registers: [registry],
  });
  const delivered = new Counter({
    name: 'switchboard_events_delivered_total',
    help: 'Stream events sent live to subscribed connections',
    registers: [registry],
  });
  const ticks = new Counter({ name: 'switchboard_price_ticks_total', help: 'Price ticks published', registers: [registry] });
  const clientMessages = new Counter({
    name: 'switchboard_client_messages_total',
    help: 'Client messages answered, by kind and outcome (applied, duplicate id answered from the record, refused as invalid, failed)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const fired = new Counter({ name: 'switchboard_alerts_fired_total', help: 'Price alerts fired', registers: [registry] });
  const expired = new Counter({ name: 'switchboard_alerts_expired_total', help: 'Price alerts that expired', registers: [registry] });
  const evaluatedTicks = new Counter({
    name: 'switchboard_alert_ticks_evaluated_total',
    help: 'Price ticks evaluated by the alert engine',
    registers: [registry],
  });
  const examinedRules = new Counter({
    name: 'switchboard_alert_rules_examined_total',
    help: 'Alert rules the engine looked at while evaluating ticks (the per-symbol index looks only at rules a tick can fire)',
    registers: [registry],
  });
  const heldAlerts = deps.heldAlerts;
  if (heldAlerts) {
    new Gauge({
      name: 'switchboard_alerts_held',
      help: 'Price alerts the server holds (every status)',
      registers: [registry],
      collect() {
        this.set(heldAlerts());
      },
    });
  }
  const errors = new Counter({
    name: 'switchboard_handler_errors_total',
    help: 'Unexpected errors in connection or request handlers (each closed its connection with 1011 or answered 500)',
    registers: [registry],
  });

  // Zero-valued series exist from the start, so a dashboard or test can tell "none yet" from "not exported".
  for (const code of ['bad-frame', 'unknown-frame', 'too-large', 'invalid', 'protocol'] satisfies RejectionCode[]) {
    rejected.labels(code).inc(0);
  }
  for (const reason of REFUSAL_REASONS) refused.labels(reason).inc(0);
  for (const reason of SUBSCRIPTION_REFUSALS) subscriptionsRefused.labels(reason).inc(0);
  for (const recovery of RECOVERIES) streamSubscriptions.labels(recovery).inc(0);
  for (const kind of ['feed', 'news']) appended.labels(kind).inc(0);
  for (const kind of [...CLIENT_MESSAGE_KINDS, 'other']) {
    for (const outcome of CLIENT_MESSAGE_OUTCOMES) clientMessages.labels(kind, outcome).inc(0);
  }

  return {
    registry,
    framesReceived: (type) => received.labels(type).inc(),
    framesSent: (type, count = 1) => sent.labels(type).inc(count),
    frameRejected: (code) => rejected.labels(code).inc(),
    connectionRefused: (reason) => refused.labels(reason).inc(),
    subscriptionRefused: (reason) => subscriptionsRefused.labels(reason).inc(),
    streamSubscribed: (recovery) => streamSubscriptions.labels(recovery).inc(),
    eventAppended: (kind) => appended.labels(kind).inc(),
    eventsReplayed: (count) => replayed.inc(count),
    eventsDelivered: (count) => delivered.inc(count),
    priceTick: () => ticks.inc(),
    clientMessage: (kind, outcome) => clientMessages.labels(CLIENT_MESSAGE_KINDS.includes(kind) ? kind : 'other', outcome).inc(),
    alertsFired: (count) => fired.inc(count),
    alertsExpired: (count) => expired.inc(count),
    alertTickEvaluated: (examined) => {
      evaluatedTicks.inc();
      examinedRules.inc(examined);
    },
    handlerError: () => errors.inc(),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
