/**
 * Access tokens with an injected clock: what a minted token carries, when it stops being accepted
 * (exactly at `exp`), and the signing secret kept in the data directory (made once, 0600, reused).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { loadOrCreateTokenSecret } from '../../server/auth/token-secret';
import { createTokenService, MAX_CLOCK_SKEW_SECONDS } from '../../server/auth/tokens';

const SECRET = 'unit-test-secret-0123456789abcdefghij';

describe('token service', () => {
  let now = Date.UTC(2030, 0, 1);
  const service = createTokenService({ secret: SECRET, ttlSeconds: 3600, now: () => now });

  test('a minted token is HS256 with sub, iss, aud, iat and exp, and verifies as its user until exp', async () => {
    now = Date.UTC(2030, 0, 1);
    const minted = await service.mint('alice');
    expect(minted).toEqual({ token: expect.any(String), user: 'alice', expiresAt: now + 3_600_000 });
    expect(decodeProtectedHeader(minted.token)).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(decodeJwt(minted.token)).toEqual({ sub: 'alice', iss: 'switchboard', aud: 'switchboard', iat: now / 1000, exp: now / 1000 + 3600 });
    expect(await service.verify(minted.token)).toEqual({ ok: true, user: 'alice', expiresAt: minted.expiresAt });
    now = minted.expiresAt - 1000;
    expect(await service.verify(minted.token)).toMatchObject({ ok: true });
    now = minted.expiresAt;
    expect(await service.verify(minted.token)).toEqual({ ok: false, expired: true, reason: expect.stringMatching(/expired/) });
  });

  test('ttlSeconds overrides the default lifetime', async () => {
    now = Date.UTC(2030, 0, 1);
    expect((await service.mint('bob', 60)).expiresAt).toBe(now + 60_000);
  });

  test(`a token issued more than ${MAX_CLOCK_SKEW_SECONDS} s in the future is refused; within the skew it is accepted`, async () => {
    now = Date.UTC(2030, 0, 1);
    const skewed = (seconds: number) => createTokenService({ secret: SECRET, ttlSeconds: 3600, now: () => now + seconds * 1000 });
    const justAhead = await skewed(MAX_CLOCK_SKEW_SECONDS).mint('alice');
    expect(await service.verify(justAhead.token)).toMatchObject({ ok: true, user: 'alice' });
    const tooFar = await skewed(MAX_CLOCK_SKEW_SECONDS + 1).mint('alice');
    expect(await service.verify(tooFar.token)).toEqual({ ok: false, expired: false, reason: expect.stringMatching(/issued in the future/) });
    const farFuture = await skewed(365 * 24 * 3600).mint('alice');
    expect(await service.verify(farFuture.token)).toMatchObject({ ok: false, expired: false });
  });

  test('another secret is a forgery', async () => {
    const other = createTokenService({ secret: 'another-secret-0123456789abcdefghijkl', ttlSeconds: 3600, now: () => now });
    const forged = await other.mint('alice');
    expect(await service.verify(forged.token)).toEqual({ ok: false, expired: false, reason: expect.stringMatching(/signature/) });
  });

  test.each(['', 'x', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9.e30.'])('%j is refused without a crash', async (token) => {
    expect(await service.verify(token)).toMatchObject({ ok: false, expired: false });
  });

  test('minting for an invalid user or lifetime is a bug and throws', async () => {
    await expect(service.mint('no spaces')).rejects.toThrow(RangeError);
    await expect(service.mint('alice', 0)).rejects.toThrow(RangeError);
  });

  test('a short secret is refused', () => {
    expect(() => createTokenService({ secret: 'short', ttlSeconds: 60, now: Date.now })).toThrow(/at least 32/);
  });
});

describe('token secret file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-secret-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('is made once with mode 0600 and read back the same afterwards', () => {
    const first = loadOrCreateTokenSecret(join(dir, 'data'));
    expect(first.length).toBeGreaterThanOrEqual(32);
    const path = join(dir, 'data', 'token-secret');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadOrCreateTokenSecret(join(dir, 'data'))).toBe(first);
    expect(readFileSync(path, 'utf8').trim()).toBe(first);
  });

  test('a file made wider by hand is narrowed to 0600', () => {
    const path = join(dir, 'token-secret');
    writeFileSync(path, 'a-hand-made-secret-of-enough-length-0123');
    chmodSync(path, 0o644);
    expect(loadOrCreateTokenSecret(dir)).toBe('a-hand-made-secret-of-enough-length-0123');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test('a data directory it creates is 0700', () => {
    loadOrCreateTokenSecret(join(dir, 'made', 'here'));
    expect(statSync(join(dir, 'made', 'here')).mode & 0o777).toBe(0o700);
  });

  test('a secret too short to be safe is refused with what to do', () => {
    writeFileSync(join(dir, 'token-secret'), 'short');
    expect(() => loadOrCreateTokenSecret(dir)).toThrow(/delete it/);
  });
});
