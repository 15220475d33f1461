/**
 * The server's Prometheus metrics on a registry of its own (not prom-client's global one), so
 * several servers in one test process never share or clash over counters.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Recovery } from '../lib/wire/protocol';
import { STREAM_TOPIC_KINDS } from '../lib/wire/topics';
import { ALERT_MESSAGE_KINDS, isAlertMessageKind } from './alerts/messages';

/**
 * Why a connection was refused at the upgrade or closed by the server for cause: a token that is
 * no good (`unauthorized`, 4010), an expired one at the handshake or while connected (`expired`,
 * 4011), a refresh for another user (`wrong-user`, 4010), a client that cannot keep up with its
 * stream events (`slow-consumer`, 1013), the limits (`server-busy` and `too-many-pending`, 1013;
 * `too-many-connections` for one user, 4013; `rate-limited`, 4029), and the protocol faults.
 */
const REFUSAL_REASONS = [
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
  'server-busy',
  'too-many-pending',
  'too-many-connections',
  'rate-limited',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

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

/** Why an incoming frame was rejected: a codec failure code, or a protocol misuse. */
export type RejectionCode = 'bad-frame' | 'unknown-frame' | 'too-large' | 'invalid' | 'protocol';
const REJECTION_CODES: readonly RejectionCode[] = ['bad-frame', 'unknown-frame', 'too-large', 'invalid', 'protocol'];

/** What carries a client's frames: `/ws`, or the HTTP transports (SSE streaming, long polling). */
export type Transport = 'websocket' | 'http';
const TRANSPORTS: readonly Transport[] = ['websocket', 'http'];

export interface Metrics {
  readonly registry: Registry;
  /** Counted with `transport="websocket"`; see `forTransport`. */
  framesReceived(type: string): void;
  framesSent(type: string, count?: number): void;
  /**
   * These metrics, counting what a connection over `transport` does with that `transport` label:
   * frames received, sent and rejected, refusals and client messages. The rest are the server's.
   */
  forTransport(transport: Transport): Metrics;
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
  /**
   * A value went out to the sockets `seconds` after it was published: a stream event after it was
   * appended (`stream`), a price tick after it was published (`state`). Observed once per fan-out
   * send, not per socket.
   */
  publishToWrite(mode: 'stream' | 'state', seconds: number): void;
  /** A subscribe replayed events from the log, taking `seconds` from the subscribe until the last was written. */
  streamReplayed(seconds: number): void;
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
 * A counter by one label and the transport, counted per frame: increments are plain additions
 * here, moved into the registry when it is read, because `labels(…).inc()` per frame and socket
 * costs more than the write it counts.
 */
function tallied(registry: Registry, name: string, help: string, label: string): (transport: Transport, value: string, count?: number) => void {
  const tallies: Record<Transport, Map<string, number>> = { websocket: new Map(), http: new Map() };
  new Counter({
    name,
    help,
    labelNames: [label, 'transport'],
    registers: [registry],
    collect() {
      for (const transport of TRANSPORTS) {
        for (const [value, count] of tallies[transport]) this.labels(value, transport).inc(count);
        tallies[transport].clear();
      }
    },
  });
  return (transport, value, count = 1) => {
    const tally = tallies[transport];
    tally.set(value, (tally.get(value) ?? 0) + count);
  };
}

/** `switchboard_http_sessions{transport}`, read at scrape time like the connections gauge. */
function httpSessionsGauge(registry: Registry, read: () => Readonly<Record<string, number>>): void {
  new Gauge({
    name: 'switchboard_http_sessions',
    help: 'Open HTTP transport sessions, by what reads them now: an SSE stream, a pending long poll, or none (between polls)',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      for (const [transport, count] of Object.entries(read())) this.labels(transport).set(count);
    },
  });
}

/**
 * `openConnections` is read at scrape time, so the gauge cannot drift from the truth whatever path
 * a socket took to close.
 */
export function createMetrics(deps: {
  openConnections: () => number;
  heldAlerts?: () => number;
  /** Open HTTP transport sessions by how they were last read (`none`: not yet). */
  httpSessions?: () => Readonly<Record<string, number>>;
}): Metrics {
  const registry = new Registry();
  const counter = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  /**
   * A counter by one label whose known values exist as zero-valued series from the start, so a
   * dashboard or test can tell "none yet" from "not exported".
   */
  function countedBy(name: string, help: string, label: string, values: readonly string[]): Counter {
    const metric = counter(name, help, [label]);
    for (const value of values) metric.labels(value).inc(0);
    return metric;
  }
  /** `countedBy` with a `transport` label too, every pair made at zero. */
  function countedByTransport(name: string, help: string, labels: readonly string[], values: readonly (readonly string[])[]): Counter {
    const metric = counter(name, help, [...labels, 'transport']);
    for (const transport of TRANSPORTS) for (const value of values) metric.labels(...value, transport).inc(0);
    return metric;
  }
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });

  gauge('switchboard_ws_connections', 'Currently open WebSocket connections', () => deps.openConnections());
  if (deps.httpSessions) httpSessionsGauge(registry, deps.httpSessions);
  const received = tallied(registry, 'switchboard_frames_received_total', 'Valid frames received from clients, by frame type and transport', 'type');
  const sent = tallied(registry, 'switchboard_frames_sent_total', 'Frames sent to clients, by frame type and transport', 'type');
  /** The frame counters of one transport. */
  const framesOf = (transport: Transport): Pick<Metrics, 'framesReceived' | 'framesSent'> => ({
    framesReceived: (type) => received(transport, type),
    framesSent: (type, count = 1) => sent(transport, type, count),
  });
  const rejected = countedByTransport(
    'switchboard_frames_rejected_total',
    'Incoming frames rejected, by error code and transport',
    ['code'],
    REJECTION_CODES.map((code) => [code]),
  );
  const refused = countedByTransport(
    'switchboard_connections_refused_total',
    'Connections refused or closed by the server for cause, by reason and transport',
    ['reason'],
    REFUSAL_REASONS.map((reason) => [reason]),
  );
  const subscriptionsRefused = countedBy('switchboard_subscriptions_refused_total', 'Subscriptions refused, by reason', 'reason', SUBSCRIPTION_REFUSALS);
  const streamSubscriptions = countedBy(
    'switchboard_stream_subscriptions_total',
    'Stream subscriptions that took effect, by recovery outcome',
    'recovery',
    RECOVERIES,
  );
  const appended = countedBy('switchboard_events_appended_total', 'Events appended to stream topic logs, by topic family', 'kind', STREAM_TOPIC_KINDS);
  const replayed = counter(
    'switchboard_events_replayed_total',
    'Stream events sent from the log on subscribe (replayed gaps and newest-last resyncs)',
  );
  let deliveredTally = 0;
  new Counter({
    name: 'switchboard_events_delivered_total',
    help: 'Stream events sent live to subscribed connections',
    registers: [registry],
    collect() {
      this.inc(deliveredTally);
      deliveredTally = 0;
    },
  });
  const publishToWrite = new Histogram({
    name: 'switchboard_publish_to_write_seconds',
    help: 'Time from publishing a value to writing it to the subscribed sockets, by topic mode (stream: from the append; state: from the tick; once per fan-out send)',
    labelNames: ['mode'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const streamWrites = publishToWrite.labels('stream');
  const stateWrites = publishToWrite.labels('state');
  const replayTime = new Histogram({
    name: 'switchboard_stream_replay_seconds',
    help: 'Time a stream subscribe took to replay events from the log, from the subscribe until the last replayed event was written',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const ticks = counter('switchboard_price_ticks_total', 'Price ticks published');
  // Kinds are counted by name only when known, so clients cannot grow the label set.
  const clientMessages = countedByTransport(
    'switchboard_client_messages_total',
    'Client messages answered, by kind, outcome (applied, duplicate id answered from the record, refused as invalid, failed) and transport',
    ['kind', 'outcome'],
    [...ALERT_MESSAGE_KINDS, 'other'].flatMap((kind) => CLIENT_MESSAGE_OUTCOMES.map((outcome) => [kind, outcome])),
  );
  const fired = counter('switchboard_alerts_fired_total', 'Price alerts fired');
  const expired = counter('switchboard_alerts_expired_total', 'Price alerts that expired');
  const evaluatedTicks = counter('switchboard_alert_ticks_evaluated_total', 'Price ticks evaluated by the alert engine');
  const examinedRules = counter(
    'switchboard_alert_rules_examined_total',
    'Alert rules the engine looked at while evaluating ticks (the per-symbol index looks only at rules a tick can fire)',
  );
  const { heldAlerts } = deps;
  if (heldAlerts) gauge('switchboard_alerts_held', 'Price alerts the server holds (every status)', heldAlerts);
  const errors = counter(
    'switchboard_handler_errors_total',
    'Unexpected errors in connection or request handlers (each closed its connection with 1011 or answered 500)',
  );

  /** The counters a connection over `transport` counts on. */
  const countedOn = (transport: Transport): Pick<Metrics, 'framesReceived' | 'framesSent' | 'frameRejected' | 'connectionRefused' | 'clientMessage'> => ({
    ...framesOf(transport),
    frameRejected: (code) => rejected.labels(code, transport).inc(),
    connectionRefused: (reason) => refused.labels(reason, transport).inc(),
    clientMessage: (kind, outcome) => clientMessages.labels(isAlertMessageKind(kind) ? kind : 'other', outcome, transport).inc(),
  });
  const metrics: Metrics = {
    registry,
    ...countedOn('websocket'),
    forTransport: (transport) => ({ ...metrics, ...countedOn(transport) }),
    subscriptionRefused: (reason) => subscriptionsRefused.labels(reason).inc(),
    streamSubscribed: (recovery) => streamSubscriptions.labels(recovery).inc(),
    eventAppended: (kind) => appended.labels(kind).inc(),
    eventsReplayed: (count) => replayed.inc(count),
    eventsDelivered: (count) => void (deliveredTally += count),
    publishToWrite: (mode, seconds) => (mode === 'stream' ? streamWrites : stateWrites).observe(seconds),
    streamReplayed: (seconds) => replayTime.observe(seconds),
    priceTick: () => ticks.inc(),
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
  return metrics;
}
