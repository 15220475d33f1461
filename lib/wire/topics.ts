/**
 * Every topic kind the protocol knows, in one table: its mode (`stream`: a durable log replayed from
 * a cursor; `state`: the latest value only), who may read it, and the one place its name is built
 * and parsed. The hub, the server and the views all ask here; nobody writes `feed:${user}` by hand.
 * A `TopicId` can only come from this module, so a raw string from the wire or a view never
 * reaches a registry or a log unchecked.
 */
import { isUserName, SYMBOL_PATTERN, type Brand } from './ids';
import type { TopicMode } from './protocol';

/** A validated topic name such as `prices:AAPL`, `prices:*`, `feed:alice`, `alerts:alice` or `news`. */
export type TopicId = Brand<string, 'TopicId'>;

/** The topic families of protocol v1. */
export type TopicKind = 'prices' | 'prices-all' | 'feed' | 'news' | 'alerts';

export interface TopicKindRule {
  readonly mode: TopicMode;
  /** `everyone` signed in, or only the user the topic names (`owner`). */
  readonly readers: 'everyone' | 'owner';
  /** How the name is written, for error messages. */
  readonly pattern: string;
  /** What an `owner` topic of another user holds, for the refusal message. */
  readonly othersHold?: string;
}

export const TOPIC_KINDS: Readonly<Record<TopicKind, TopicKindRule>> = {
  feed: { mode: 'stream', readers: 'owner', pattern: 'feed:<user>', othersHold: "is another user's feed" },
  alerts: { mode: 'state', readers: 'owner', pattern: 'alerts:<user>', othersHold: "holds another user's alerts" },
  news: { mode: 'stream', readers: 'everyone', pattern: 'news' },
  prices: { mode: 'state', readers: 'everyone', pattern: 'prices:<SYMBOL>' },
  'prices-all': { mode: 'state', readers: 'everyone', pattern: 'prices:*' },
};

/** The kinds with a durable log, in table order. */
export const STREAM_TOPIC_KINDS: readonly TopicKind[] = (Object.keys(TOPIC_KINDS) as TopicKind[]).filter(
  (kind) => TOPIC_KINDS[kind].mode === 'stream',
);

/** The longest topic name `parseTopic` accepts. */
export const MAX_TOPIC_LENGTH = 80;

export interface ParsedTopic {
  readonly id: TopicId;
  readonly kind: TopicKind;
  /** The symbol for `prices`, the user for `feed` and `alerts`. */
  readonly arg?: string;
}

const NEWS = 'news';
const ALL_PRICES = 'prices:*';

/** Parses a topic name; returns `null` for anything the protocol does not define. */
export function parseTopic(input: unknown): ParsedTopic | null {
  if (typeof input !== 'string' || input.length > MAX_TOPIC_LENGTH) return null;
  if (input === NEWS) return { id: input as TopicId, kind: 'news' };
  if (input === ALL_PRICES) return { id: input as TopicId, kind: 'prices-all' };
  const colon = input.indexOf(':');
  if (colon < 0) return null;
  const family = input.slice(0, colon);
  const arg = input.slice(colon + 1);
  if (family === 'prices' && SYMBOL_PATTERN.test(arg)) return { id: input as TopicId, kind: 'prices', arg };
  if (family === 'feed' && isUserName(arg)) return { id: input as TopicId, kind: 'feed', arg };
  if (family === 'alerts' && isUserName(arg)) return { id: input as TopicId, kind: 'alerts', arg };
  return null;
}

/** Returns the topic id or throws: for names built in code, which are always valid. */
export function topicId(input: string): TopicId {
  const parsed = parseTopic(input);
  if (!parsed) throw new TypeError(`Not a topic: ${JSON.stringify(input)}`);
  return parsed.id;
}

/** The names of each topic kind. Those taking a symbol or user throw on an invalid one. */
export const topics = {
  prices: (symbol: string): TopicId => topicId(`prices:${symbol}`),
  allPrices: ALL_PRICES as TopicId,
  feed: (user: string): TopicId => topicId(`feed:${user}`),
  alerts: (user: string): TopicId => topicId(`alerts:${user}`),
  news: NEWS as TopicId,
} as const;

/** The mode of a topic name, or `null` for a name the protocol does not define. */
export function modeOf(name: unknown): TopicMode | null {
  const topic = parseTopic(name);
  return topic ? TOPIC_KINDS[topic.kind].mode : null;
}

/** True for `feed:<user>` and `news`: the topics with a durable log. */
export function isStreamTopic(topic: ParsedTopic): boolean {
  return TOPIC_KINDS[topic.kind].mode === 'stream';
}

/** The topic id when `input` names a stream topic, else `null`. */
export function streamTopic(input: unknown): TopicId | null {
  const parsed = parseTopic(input);
  return parsed && isStreamTopic(parsed) ? parsed.id : null;
}

/** The stream topics a user reads: their own feed (when the name is valid) and `news`. */
export function streamTopicsOf(user: string): TopicId[] {
  return [...(isUserName(user) ? [topics.feed(user)] : []), topics.news];
}

/**
 * Whose entries a topic holds: the user an `owner` topic names, `''` for topics everyone reads
 * (`news`). The hub shows a user only their own entries and everyone's.
 */
export function topicOwner(topic: string): string {
  const parsed = parseTopic(topic);
  return parsed && TOPIC_KINDS[parsed.kind].readers === 'owner' ? (parsed.arg ?? '') : '';
}

/** Why `user` may not read `topic`, or `null` when they may. */
export function readRefusal(user: string, topic: ParsedTopic): string | null {
  const rule = TOPIC_KINDS[topic.kind];
  if (rule.readers === 'everyone' || topic.arg === user) return null;
  return `${topic.id} ${rule.othersHold ?? "is another user's"}: subscribe to ${rule.pattern.replace('<user>', user)}`;
}

/** The error message for a name `parseTopic` refused. */
export function unknownTopicMessage(topic: string): string {
  const patterns = Object.values(TOPIC_KINDS).map((rule) => rule.pattern);
  return `Unknown topic ${JSON.stringify(topic)}: use ${patterns.slice(0, -1).join(', ')} or ${patterns.at(-1)}`;
}
