/**
 * The pure parts of the Redis stores: which failures are an outage (`StoreUnavailableError`, with
 * the URL's password hidden) and which are bugs, and the alert store's key layout (one hash tag
 * per user, keys mapped back to their user, a prefix that cannot break the tags, SCAN patterns
 * that match the prefix literally).
 */
import { ClientOfflineError, ErrorReply, SocketClosedUnexpectedlyError, TimeoutError } from '@redis/client';
import { describe, expect, test } from 'vitest';
import { alertKeys } from '../../server/alerts/redis-keys';
import { StoreUnavailableError } from '../../server/common/unavailable';
import { storeError } from '../../server/redis/client';

test('a failed Redis command becomes StoreUnavailableError only when Redis could not serve it', () => {
  const url = 'redis://user:secret@db.internal:6380';
  const offline = storeError(new ClientOfflineError(), url);
  expect(offline).toBeInstanceOf(StoreUnavailableError);
  expect((offline as Error).message).toMatch(/^Redis at redis:\/\/user:\*\*\*@db.internal:6380 is unavailable: /);
  expect((offline as Error).message).not.toContain('secret');
  expect(storeError(new SocketClosedUnexpectedlyError(), url)).toBeInstanceOf(StoreUnavailableError);
  expect(storeError(new TimeoutError(), url)).toBeInstanceOf(StoreUnavailableError);
  expect(storeError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), url)).toBeInstanceOf(StoreUnavailableError);
  expect(storeError(new ErrorReply('LOADING Redis is loading the dataset in memory'), url)).toBeInstanceOf(StoreUnavailableError);
  expect(storeError(new ErrorReply('READONLY You can\'t write against a read only replica.'), url)).toBeInstanceOf(StoreUnavailableError);
  // What was sent is wrong: that is a bug to see, not an outage to wait out.
  const scriptBug = new ErrorReply('ERR user_script:3: attempt to compare nil with number');
  expect(storeError(scriptBug, url)).toBe(scriptBug);
  const parseBug = new SyntaxError('Unexpected token');
  expect(storeError(parseBug, url)).toBe(parseBug);
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
    expect([keys.owners, keys.prices, keys.lease, keys.leaseFence]).toEqual(['app:alert-owners', 'app:alert-prices', 'app:alert-lease', 'app:alert-lease:fence']);
    expect(alertKeys().user('bob', 'rev')).toBe('switchboard:{u:bob}:rev');
  });

  test('a prefix with braces is refused; glob characters in it are matched literally by SCAN', () => {
    expect(() => alertKeys('a{b}:')).toThrow(/braces/);
    expect(alertKeys('a*[x]?:').everyUser('applied')).toBe('a\\*\\[x\\]\\?:{u:*}:applied');
  });
});
