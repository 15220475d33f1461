/**
 * Which transport the next attempt to a server uses, as pure rules over one record per server
 * URL (issue 13, Build item 2): WebSocket first; after `wsFailuresBeforeFallback` WebSocket
 * attempts in a row that never opened, `GET /rt/sessions` is asked after each further failure, and
 * the hub steps down to streaming only when an upgrade failed between two answers of it: plain HTTP
 * worked before and after it. One answer is not enough, because a server that was down and is
 * just back answers it and would take the next upgrade too; a stream that delivered nothing at all
 * (not even a heartbeat comment, the sign of a proxy that buffers whole responses) steps down to
 * long polling; and while on HTTP, WebSocket is tried again every `probeIntervalMs`, returning to
 * it when it opens. On long polling, a probe whose WebSocket fails tries a stream too, and returns
 * to streaming when that one is heard (the buffering proxy is gone, the block on upgrades is not).
 * The sockets that act on these rules are `./transport-choice.ts`.
 */
import type { TransportName } from '../../../lib/rpc/hub-api';

export interface TransportPlanOptions {
  /** WebSocket attempts in a row that never opened before the hub asks `GET /rt/sessions` and steps down. Default 3. */
  readonly wsFailuresBeforeFallback: number;
  /** How long a stream may deliver nothing after its session opened before the hub steps down to long polling (ms). Default 5000. */
  readonly streamSilenceMs: number;
  /** While on an HTTP transport, how often WebSocket is tried again (ms). Default 60 000. */
  readonly probeIntervalMs: number;
  /** Uses this transport alone and never steps (tests; a user setting could pin one). Default: none, the hub chooses. */
  readonly only?: TransportName;
}

export const DEFAULT_TRANSPORT_PLAN: Readonly<TransportPlanOptions> = {
  wsFailuresBeforeFallback: 3,
  streamSilenceMs: 5000,
  probeIntervalMs: 60_000,
};

/** What the hub knows about one server. */
export interface ServerRecord {
  /** What worked last (or what to try). */
  readonly mode: TransportName;
  /** WebSocket attempts in a row that failed before opening. */
  readonly wsFailures: number;
  /** When WebSocket was last tried while on HTTP (ms). */
  readonly probedAt: number;
  /** `GET /rt/sessions` answered after the last failed upgrade: one more failure while it does steps down. */
  readonly httpSeen?: boolean;
}

export const FRESH_RECORD: ServerRecord = { mode: 'websocket', wsFailures: 0, probedAt: 0 };

/** What happened to an attempt, as the plan takes it. */
export type Outcome =
  | { readonly k: 'ws opened' }
  /** A WebSocket closed before it opened: the upgrade failed (refused, blocked, unreachable). */
  | { readonly k: 'ws failed' }
  /** `GET /rt/sessions` answered: `ok` when plain HTTP to the server works. */
  | { readonly k: 'http checked'; readonly ok: boolean; readonly at: number }
  /** A stream ended (or was ended) with nothing delivered. */
  | { readonly k: 'stream silent' }
  /** A WebSocket tried while on HTTP opened. */
  | { readonly k: 'probe opened' }
  /** A stream tried while on long polling delivered something. */
  | { readonly k: 'stream heard' }
  | { readonly k: 'probe failed'; readonly at: number };

/** The transport the next attempt uses, and whether it is a WebSocket probe made while on HTTP. */
export function nextTransport(record: ServerRecord, now: number, options: TransportPlanOptions): { readonly transport: TransportName; readonly probe: boolean } {
  if (options.only) return { transport: options.only, probe: false };
  if (record.mode === 'websocket') return { transport: 'websocket', probe: false };
  if (now - record.probedAt >= options.probeIntervalMs) return { transport: 'websocket', probe: true };
  return { transport: record.mode, probe: false };
}

/** Whether the failures so far call for asking `GET /rt/sessions` before stepping down. */
export function shouldCheckHttp(record: ServerRecord, options: TransportPlanOptions): boolean {
  return !options.only && record.mode === 'websocket' && record.wsFailures >= options.wsFailuresBeforeFallback;
}

/** The record after `outcome`. */
export function afterOutcome(record: ServerRecord, outcome: Outcome): ServerRecord {
  switch (outcome.k) {
    case 'ws opened':
    case 'probe opened':
      return FRESH_RECORD;
    case 'ws failed':
      return record.mode === 'websocket' ? { ...record, wsFailures: record.wsFailures + 1 } : record;
    case 'http checked':
      if (record.mode !== 'websocket') return record;
      // A server that answers nothing over HTTP either is down: keep trying WebSocket.
      if (!outcome.ok) return { ...record, httpSeen: false };
      return record.httpSeen ? { mode: 'streaming', wsFailures: 0, probedAt: outcome.at } : { ...record, httpSeen: true };
    case 'stream silent':
      return record.mode === 'streaming' ? { ...record, mode: 'long polling' } : record;
    case 'stream heard':
      return record.mode === 'long polling' ? { ...record, mode: 'streaming' } : record;
    case 'probe failed':
      return { ...record, probedAt: outcome.at };
  }
}
