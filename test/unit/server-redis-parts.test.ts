/**
 * The pure parts of the Redis stores: which failures are an outage (`StoreUnavailableError`, with
 * the URL's password hidden, saying whether the command may have run) and which are bugs, and the
 * alert store's key layout (one hash tag per user, keys mapped back to their user, a prefix that
 * cannot break the tags, SCAN patterns that match the prefix literally).
 */
import { ClientClosedError, ClientOfflineError, ErrorReply, SocketClosedUnexpectedlyError, TimeoutError } from '@redis/client';
import { describe, expect, test } from 'vitest';
import { alertKeys } from '../../server/alerts/redis-keys';
import { StoreUnavailableError } from '../../server/common/unavailable';
import { connectRedis, redactRedisUrl, unavailableError } from '../../server/redis/client';

test('a failed Redis command becomes StoreUnavailableError only when Redis could not serve it', () => {
  const url = 'redis://user:secret@db.internal:6380';
  const unavailable = (error: unknown) => unavailableError(error, url, 'append to news');
  const offline = unavailable(new ClientOfflineError());
  expect(offline).toBeInstanceOf(StoreUnavailableError);
  expect((offline as Error).message).toMatch(/^Redis at redis:\/\/user:\*\*\*@db.internal:6380 is unavailable: could not append to news \(/);
  expect((offline as Error).message).not.toContain('secret');
  expect(unavailable(new SocketClosedUnexpectedlyError())).toBeInstanceOf(StoreUnavailableError);
  expect(unavailable(new TimeoutError())).toBeInstanceOf(StoreUnavailableError);
  expect(unavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeInstanceOf(StoreUnavailableError);
  expect(unavailable(new ErrorReply('LOADING Redis is loading the dataset in memory'))).toBeInstanceOf(StoreUnavailableError);
  expect(unavailable(new ErrorReply('READONLY You can\'t write against a read only replica.'))).toBeInstanceOf(StoreUnavailableError);
  // What was sent is wrong: that is a bug to see, not an outage to wait out.
  const scriptBug = new ErrorReply('ERR user_script:3: attempt to compare nil with number');
  expect(unavailable(scriptBug)).toBe(scriptBug);
  const parseBug = new SyntaxError('Unexpected token');
  expect(unavailable(parseBug)).toBe(parseBug);
  const already = new StoreUnavailableError('told once');
  expect(unavailable(already)).toBe(already);
});

test('the error says whether Redis may have run the command all the same', () => {
  const url = 'redis://127.0.0.1:6379';
  const message = (error: unknown) => (unavailableError(error, url, 'append to news') as Error).message;
  // Never sent, or refused before it ran.
  expect(message(new ClientOfflineError())).toMatch(/; not done\)$/);
  expect(message(new ClientClosedError())).toMatch(/; not done\)$/);
  expect(message(new ErrorReply('OOM command not allowed when used memory > maxmemory'))).toMatch(/; not done\)$/);
  // Sent, and the answer never came.
  expect(message(new SocketClosedUnexpectedlyError())).toMatch(/; Redis may have done it before the connection failed\)$/);
  expect(message(new TimeoutError())).toMatch(/; Redis may have done it before the connection failed\)$/);
});

test('a Redis URL in messages has its password hidden', () => {
  expect(redactRedisUrl('redis://user:secret@db.internal:6380/2')).toBe('redis://user:***@db.internal:6380/2');
  expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  expect(redactRedisUrl('not a url')).not.toContain('not a url');
});

test('a REDIS_URL that is not a Redis URL fails the opening clearly, password hidden, before any connection', async () => {
  await expect(connectRedis({ url: 'http://user:secret@db.internal', onConnectionError: () => {} }, 'log')).rejects.toThrow(
    /^REDIS_URL http:\/\/user:\*\*\*@db\.internal\/? is not a Redis URL: .*redis:/,
  );
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
