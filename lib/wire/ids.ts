/**
 * Branded identifiers and their only constructors. A `TopicId` or `MessageId` can only come from
 * here, so a raw string from the wire or a view never reaches the registry or the outbox unchecked.
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A validated topic name such as `prices:AAPL`, `prices:*`, `feed:alice`, `alerts:alice` or `news`. */
export type TopicId = Brand<string, 'TopicId'>;
/** A client-made idempotency id for a client message (UUID v4 text). */
export type MessageId = Brand<string, 'MessageId'>;

/** Ticker symbols: upper-case letters, digits, `.` and `-`, 1 to 12 characters. */
export const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9.-]{0,11}$/;
const USER_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

/** The topic families the protocol knows, with the mode each one has. */
export type TopicKind = 'prices' | 'prices-all' | 'feed' | 'news' | 'alerts';

export interface ParsedTopic {
  readonly id: TopicId;
  readonly kind: TopicKind;
  /** The symbol for `prices`, the user for `feed` and `alerts`. */
  readonly arg?: string;
}

/** Parses a topic name; returns `null` for anything the protocol does not define. */
export function parseTopic(input: unknown): ParsedTopic | null {
  if (typeof input !== 'string' || input.length > 80) return null;
  if (input === 'news') return { id: input as TopicId, kind: 'news' };
  if (input === 'prices:*') return { id: input as TopicId, kind: 'prices-all' };
  const colon = input.indexOf(':');
  if (colon < 0) return null;
  const family = input.slice(0, colon);
  const arg = input.slice(colon + 1);
  if (family === 'prices' && SYMBOL_PATTERN.test(arg)) return { id: input as TopicId, kind: 'prices', arg };
  if (family === 'feed' && USER_PATTERN.test(arg)) return { id: input as TopicId, kind: 'feed', arg };
  if (family === 'alerts' && USER_PATTERN.test(arg)) return { id: input as TopicId, kind: 'alerts', arg };
  return null;
}

/**
 * Whose entries a stream topic holds: the user of `feed:<user>`, `''` for topics everyone reads
 * (`news`). The hub shows a user only their own entries and everyone's.
 */
export function topicOwner(topic: string): string {
  const parsed = parseTopic(topic);
  return parsed?.kind === 'feed' ? (parsed.arg ?? '') : '';
}

/** Returns the topic id or throws: for views and tests that name topics in code. */
export function topicId(input: string): TopicId {
  const parsed = parseTopic(input);
  if (!parsed) throw new TypeError(`Not a topic: ${JSON.stringify(input)}`);
  return parsed.id;
}

/** The `prices:<SYMBOL>` topic of a symbol. */
export function priceTopic(symbol: string): TopicId {
  return topicId(`prices:${symbol}`);
}

/** True for user names the server accepts in `feed:<user>` and tokens. */
export function isUserName(input: unknown): input is string {
  return typeof input === 'string' && USER_PATTERN.test(input);
}

/** A fresh idempotency id for a client message. */
export function newMessageId(): MessageId {
  return crypto.randomUUID() as MessageId;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Validates a message id received from elsewhere (a view, the wire). */
export function parseMessageId(input: unknown): MessageId | null {
  return typeof input === 'string' && UUID_PATTERN.test(input) ? (input as MessageId) : null;
}
