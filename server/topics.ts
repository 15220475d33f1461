/**
 * Which topic families are `stream` topics (a durable log per topic, replay from a cursor) and which
 * are `state` topics (latest value only). The one place that says so on the server.
 */
import { parseTopic, type ParsedTopic, type TopicId } from '../lib/wire/ids';

/** `feed:<user>` and `news` are logged; `prices:*` topics are state. */
export function isStreamTopic(topic: ParsedTopic): boolean {
  return topic.kind === 'feed' || topic.kind === 'news';
}

/** The topic id when `input` names a stream topic, else `null`. */
export function streamTopic(input: unknown): TopicId | null {
  const parsed = parseTopic(input);
  return parsed && isStreamTopic(parsed) ? parsed.id : null;
}
