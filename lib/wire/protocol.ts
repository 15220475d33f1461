/**
 * Protocol v1: every frame that crosses the WebSocket, as one discriminated union on `t` per
 * direction. The schemas are the single source of truth: the TypeScript types are inferred from
 * them, and the codec validates every incoming frame against them before anyone reads it.
 */
import * as v from 'valibot';
import { TimeSchema } from './times';

/** Bumped on any incompatible change; the server refuses other versions with close code 4001. */
export const PROTOCOL_VERSION = 1;

const text = (max: number) => v.pipe(v.string(), v.maxLength(max));
/** Times a `Date` can hold (`./times.ts`); the hub also checks them against its own clock. */
const time = TimeSchema;
/**
 * An event's `at` is only when it was published, for display and order: the hub stores an event
 * with an implausible time at the time it received it (`worker/core/feed/cursor.ts`), because
 * refusing the frame would leave its place in the log empty (or refuse a whole batch with it).
 */
const eventTime = v.pipe(v.number(), v.finite());
const seq = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const topic = text(80);

/** Position in a `stream` topic's log: `seq` grows by one per event, `epoch` names one log's life. */
export const StreamPositionSchema = v.object({ epoch: text(64), seq });
export type StreamPosition = v.InferOutput<typeof StreamPositionSchema>;

/** `stream`: durable ordered log with replay. `state`: latest value only, snapshot on subscribe. */
export type TopicMode = 'stream' | 'state';

/**
 * How a subscription `since` a cursor went: the whole gap replayed (`recovered`), nothing to
 * recover (`fresh`, no cursor given), or not recoverable: the log no longer reaches back that far
 * (`trimmed`) or was lost or reset (`epoch changed`). There is never a silent partial replay.
 */
export type Recovery = 'fresh' | 'recovered' | 'trimmed' | 'epoch changed';

/** Machine-readable error codes carried by `error` frames and failed acks. */
export type ErrorCode =
  | 'bad-frame'
  | 'unknown-frame'
  | 'too-large'
  | 'unsupported-version'
  | 'not-ready'
  | 'unauthorized'
  | 'forbidden'
  | 'unknown-topic'
  | 'invalid'
  | 'rate-limited'
  | 'internal';

const errorCode = v.picklist([
  'bad-frame',
  'unknown-frame',
  'too-large',
  'unsupported-version',
  'not-ready',
  'unauthorized',
  'forbidden',
  'unknown-topic',
  'invalid',
  'rate-limited',
  'internal',
] as const satisfies readonly ErrorCode[]);

// ---- client → server -------------------------------------------------------------------------

const Hello = v.object({ t: v.literal('hello'), v: v.pipe(v.number(), v.integer()), token: text(4096), client: v.optional(text(64)) });
/** Most events a `stream` subscription asks for when it cannot (or need not) replay from a cursor. */
export const MAX_LAST_EVENTS = 500;

/**
 * `since`: the client's cursor; the server replays everything after it, or says it cannot.
 * `last`: how many of the newest events to send when there is nothing to replay from (no cursor,
 * `trimmed`, `epoch changed`): that is how a client resynchronises in one round trip.
 */
const Subscribe = v.object({
  t: v.literal('subscribe'),
  topic,
  since: v.optional(StreamPositionSchema),
  last: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_LAST_EVENTS))),
});
const Unsubscribe = v.object({ t: v.literal('unsubscribe'), topic });
const Ping = v.object({ t: v.literal('ping'), at: time });
const Pong = v.object({ t: v.literal('pong'), at: time });
const Send = v.object({ t: v.literal('send'), id: text(64), kind: text(64), body: v.unknown() });
const Refresh = v.object({ t: v.literal('refresh'), token: text(4096) });

export const ClientFrameSchema = v.variant('t', [Hello, Subscribe, Unsubscribe, Ping, Pong, Send, Refresh]);
export type ClientFrame = v.InferOutput<typeof ClientFrameSchema>;
export const CLIENT_FRAME_TYPES: ReadonlySet<string> = new Set(ClientFrameSchema.options.map((o) => o.entries.t.literal));

// ---- server → client -------------------------------------------------------------------------

const Welcome = v.object({
  t: v.literal('welcome'),
  v: v.pipe(v.number(), v.integer()),
  session: text(64),
  user: text(64),
  /** The server pings at this interval and expects traffic from the client within twice it. */
  heartbeatMs: v.pipe(v.number(), v.integer(), v.minValue(50), v.maxValue(60_000)),
  serverTime: time,
  maxFrameBytes: v.pipe(v.number(), v.integer(), v.minValue(1024)),
  /** When the access token expires (ms since the epoch); send `refresh` before then. */
  tokenExpiresAt: v.optional(time),
});
/** Answers `refresh`: the new token is in force on this connection. */
const Refreshed = v.object({ t: v.literal('refreshed'), user: text(64), tokenExpiresAt: v.optional(time) });
/**
 * For `stream` topics `position` is the log's head when the subscription took effect; the events
 * that follow (replayed, then live) arrive in `seq` order with no gap between replay and live.
 */
const Subscribed = v.object({
  t: v.literal('subscribed'),
  topic,
  mode: v.picklist(['stream', 'state'] as const),
  recovery: v.optional(v.picklist(['fresh', 'recovered', 'trimmed', 'epoch changed'] as const)),
  position: v.optional(StreamPositionSchema),
  /**
   * `seq` of the first event that follows (replayed or newest-`last`); absent when none follow.
   * With the client's cursor it tells exactly how many events a `trimmed` log lost.
   */
  from: v.optional(seq),
});
const Unsubscribed = v.object({ t: v.literal('unsubscribed'), topic, reason: v.optional(text(200)) });
export const StateFrameSchema = v.object({ t: v.literal('state'), topic, value: v.unknown(), at: time });
export const EventFrameSchema = v.object({ t: v.literal('event'), topic, epoch: text(64), seq, data: v.unknown(), at: eventTime });
const Batch = v.object({ t: v.literal('batch'), frames: v.array(v.variant('t', [StateFrameSchema, EventFrameSchema])) });
const AckOk = v.object({ t: v.literal('ack'), id: text(64), ok: v.literal(true), result: v.optional(v.unknown()) });
/** With `rate-limited`: how long to wait before the refused frame would be accepted, in ms. */
const retryAfterMs = v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0)));
const AckFail = v.object({
  t: v.literal('ack'),
  id: text(64),
  ok: v.literal(false),
  error: v.object({ code: errorCode, message: text(500), retryAfterMs }),
});
const ErrorFrame = v.object({
  t: v.literal('error'),
  code: errorCode,
  message: text(500),
  topic: v.optional(topic),
  retryAfterMs,
});

export const ServerFrameSchema = v.variant('t', [
  Welcome,
  Refreshed,
  Subscribed,
  Unsubscribed,
  StateFrameSchema,
  EventFrameSchema,
  Batch,
  Ping,
  Pong,
  v.variant('ok', [AckOk, AckFail]),
  ErrorFrame,
]);
export type ServerFrame = v.InferOutput<typeof ServerFrameSchema>;
export const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set([
  'welcome', 'refreshed', 'subscribed', 'unsubscribed', 'state', 'event', 'batch', 'ping', 'pong', 'ack', 'error',
]);

export type StateFrame = v.InferOutput<typeof StateFrameSchema>;
export type EventFrame = v.InferOutput<typeof EventFrameSchema>;
export type Frame = ClientFrame | ServerFrame;

/** Narrows a union member by its tag, e.g. `FrameOf<ServerFrame, 'welcome'>`. */
export type FrameOf<F extends { t: string }, T extends F['t']> = Extract<F, { t: T }>;

/** For `switch` defaults: a frame type the code forgot to handle fails to compile. */
export function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
