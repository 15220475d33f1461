/**
 * The pure parts of the Redis stores: the reconnect backoff (full jitter under a cap), URLs made
 * safe to log, and the alert store's key layout (one hash tag per user, keys mapped back to their
 * user, a prefix that cannot break the tags, SCAN patterns that match the prefix literally).
 */
import { describe, expect, test } from 'vitest';
import { alertKeys } from '../../server/alerts/redis-keys';
import { reconnectDelay, redactUrl } from '../../server/redis/connection';

describe('reconnect delay', () => {
  test.each([
    [0, 0.999, 49],
    [1, 0.999, 99],
    [5, 0.999, 1_598],
    [6, 0.999, 1_998],
    [1_000, 0.999, 1_998],
    [1_000, 0, 0],
  ])('after %i retries with random %f: %i ms', (retries, random, delay) => {
    expect(reconnectDelay(retries, () => random)).toBe(delay);
  });
});

test('a Redis URL loses its credentials before it is shown', () => {
  expect(redactUrl('redis://user:secret@db.internal:6380/2')).toBe('redis://db.internal:6380/2');
  expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  expect(redactUrl('not a url')).not.toContain('not a url');
});

describe('alert store keys', () => {
  const keys = alertKeys('app:');

  test("a user's keys share the hash tag {u:<user>} and map back to the user", () => {
    expect(keys.user('alice', 'alerts')).toBe('app:{u:alice}:alerts');
    expect(keys.user('alice', 'applied')).toBe('app:{u:alice}:applied');
    expect(keys.userOf('app:{u:alice}:alerts', 'alerts')).toBe('alice');
    expect(keys.userOf('app:{u:alice}:alerts', 'applied')).toBeUndefined();
    expect(keys.userOf('other:{u:alice}:alerts', 'alerts')).toBeUndefined();
    expect(keys.userOf(keys.lease, 'alerts')).toBeUndefined();
  });

  test('global keys sit under the prefix; the default prefix is switchboard:', () => {
    expect([keys.owners, keys.prices, keys.lease, keys.leaseFence]).toEqual(['app:alert-owners', 'app:prices', 'app:alert-lease', 'app:alert-lease:fence']);
    expect(alertKeys().user('bob', 'rev')).toBe('switchboard:{u:bob}:rev');
  });

  test('a prefix with braces is refused; glob characters in it are matched literally by SCAN', () => {
    expect(() => alertKeys('a{b}:')).toThrow(/braces/);
    expect(alertKeys('a*[x]?:').everyUser('applied')).toBe('a\\*\\[x\\]\\?:{u:*}:applied');
  });
});
