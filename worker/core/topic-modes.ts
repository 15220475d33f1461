/**
 * Which topic families are `stream` (durable logs the hub itself subscribes to, with cursors) and
 * which are `state` (latest value only, held by views through the registry). Routing and the
 * registry both ask here, so the table exists once.
 */
import { parseTopic, type TopicKind } from '../../lib/wire/ids';
import type { TopicMode } from '../../lib/wire/protocol';

export const TOPIC_MODES: Readonly<Record<TopicKind, TopicMode>> = {
  prices: 'state',
  'prices-all': 'state',
  feed: 'stream',
  news: 'stream',
  alerts: 'state',
};

/** The mode of a topic name, or `null` for a name the protocol does not define. */
export function modeOf(name: string | undefined): TopicMode | null {
  const topic = parseTopic(name);
  return topic ? TOPIC_MODES[topic.kind] : null;
}
