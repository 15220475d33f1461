/**
 * The topic table: every kind's name is built and parsed here, with its mode and its readers.
 */
import { describe, expect, test } from 'vitest';
import {
  isStreamTopic,
  modeOf,
  parseTopic,
  readRefusal,
  STREAM_TOPIC_KINDS,
  streamTopic,
  streamTopicsOf,
  topicOwner,
  topics,
  unknownTopicMessage,
} from '../../lib/wire/topics';

describe('topic names', () => {
  test.each([
    [topics.prices('AAPL'), 'prices', 'AAPL', 'state'],
    [topics.allPrices, 'prices-all', undefined, 'state'],
    [topics.feed('alice'), 'feed', 'alice', 'stream'],
    [topics.alerts('alice'), 'alerts', 'alice', 'state'],
    [topics.news, 'news', undefined, 'stream'],
  ])('%s is built and parsed back as %s', (name, kind, arg, mode) => {
    const parsed = parseTopic(name);
    expect(parsed).toEqual({ id: name, kind, ...(arg === undefined ? {} : { arg }) });
    expect(modeOf(name)).toBe(mode);
    expect(isStreamTopic(parsed!)).toBe(mode === 'stream');
  });

  test.each(['weather:paris', 'prices:aapl', 'feed:', 'feed:a b', 'alerts:' + 'x'.repeat(65), 'news:x', 'prices', '', 42, null])(
    '%j is no topic',
    (input) => {
      expect(parseTopic(input)).toBeNull();
      expect(modeOf(input)).toBeNull();
      expect(streamTopic(input)).toBeNull();
    },
  );

  test('builders refuse what they could not parse back', () => {
    expect(() => topics.prices('not a symbol')).toThrow(TypeError);
    expect(() => topics.feed('a b')).toThrow(TypeError);
    expect(() => topics.alerts('')).toThrow(TypeError);
  });

  test('the stream kinds and the stream topics of a user', () => {
    expect(STREAM_TOPIC_KINDS).toEqual(['feed', 'news']);
    expect(streamTopicsOf('alice')).toEqual(['feed:alice', 'news']);
    expect(streamTopicsOf('not a user')).toEqual(['news']);
    expect(streamTopic('feed:alice')).toBe('feed:alice');
    expect(streamTopic('prices:AAPL')).toBeNull();
  });

  test("an entry's owner is the user its topic names, or everyone", () => {
    expect(topicOwner('feed:alice')).toBe('alice');
    expect(topicOwner('news')).toBe('');
    expect(topicOwner('garbage')).toBe('');
  });

  test('the unknown-topic message lists every kind', () => {
    expect(unknownTopicMessage('weather:paris')).toBe(
      'Unknown topic "weather:paris": use feed:<user>, alerts:<user>, news, prices:<SYMBOL> or prices:*',
    );
  });
});

describe('topic ACL', () => {
  test.each([
    ['feed:alice', 'alice', true],
    ['feed:bob', 'alice', false],
    ['feed:Alice', 'alice', false],
    ['news', 'alice', true],
    ['prices:AAPL', 'alice', true],
    ['prices:*', 'alice', true],
  ])('%s for %s → %s', (topic, user, allowed) => {
    const refusal = readRefusal(user, parseTopic(topic)!);
    expect(refusal === null).toBe(allowed);
    if (!allowed) expect(refusal).toContain(`feed:${user}`);
  });
});

describe('refusals name the topic to use instead', () => {
  test.each([
    ['feed:bob', "feed:bob is another user's feed: subscribe to feed:alice"],
    ['alerts:bob', "alerts:bob holds another user's alerts: subscribe to alerts:alice"],
  ])('%s', (topic, message) => {
    expect(readRefusal('alice', parseTopic(topic)!)).toBe(message);
  });
});
