/**
 * The server's Prometheus metrics on a registry of its own (not prom-client's global one), so
 * several servers in one test process never share or clash over counters.
 */
import { Counter, Gauge, Registry } from 'prom-client';

/** Why a connection was refused at the upgrade or closed by the server for misbehaving. */
export type RefusalReason =
  | 'origin'
  | 'path'
  | 'version'
  | 'unauthorized'
  | 'not-ready'
  | 'bad-frames'
  | 'handshake-timeout'
  | 'ping-timeout';

/** Why an incoming frame was rejected: a codec failure code, or a protocol misuse. */
export type RejectionCode = 'bad-frame' | 'unknown-frame' | 'too-large' | 'invalid' | 'protocol';

export interface Metrics {
  readonly registry: Registry;
  framesReceived(type: string): void;
  framesSent(type: string, count?: number): void;
  frameRejected(code: RejectionCode): void;
  connectionRefused(reason: RefusalReason): void;
  priceTick(): void;
  handlerError(): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * `openConnections` is read at scrape time, so the gauge cannot drift from the truth whatever path
 * a socket took to close.
 */
export function createMetrics(deps: { openConnections: () => number }): Metrics {
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
  const ticks = new Counter({ name: 'switchboard_price_ticks_total', help: 'Price ticks published', registers: [registry] });
  const errors = new Counter({
    name: 'switchboard_handler_errors_total',
    help: 'Unexpected errors in connection or request handlers (each closed its connection with 1011 or answered 500)',
    registers: [registry],
  });

  // Zero-valued series exist from the start, so a dashboard or test can tell "none yet" from "not exported".
  for (const code of ['bad-frame', 'unknown-frame', 'too-large', 'invalid', 'protocol'] satisfies RejectionCode[]) {
    rejected.labels(code).inc(0);
  }
  const reasons: RefusalReason[] = ['origin', 'path', 'version', 'unauthorized', 'not-ready', 'bad-frames', 'handshake-timeout', 'ping-timeout'];
  for (const reason of reasons) refused.labels(reason).inc(0);

  return {
    registry,
    framesReceived: (type) => received.labels(type).inc(),
    framesSent: (type, count = 1) => sent.labels(type).inc(count),
    frameRejected: (code) => rejected.labels(code).inc(),
    connectionRefused: (reason) => refused.labels(reason).inc(),
    priceTick: () => ticks.inc(),
    handlerError: () => errors.inc(),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
