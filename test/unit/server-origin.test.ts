/**
 * The `/ws` Origin rules: the Host header parser, the same-origin rule (an Origin equal to
 * `http://` or `https://` plus the request's Host) and how it combines with the allow-list.
 */
import { describe, expect, test } from 'vitest';
import { createOriginPolicy, isSameOrigin, requestHost } from '../../server/http/origin';

describe('requestHost', () => {
  test.each<[string | undefined, string | undefined]>([
    ['127.0.0.1:8787', '127.0.0.1:8787'],
    ['LocalHost:8787', 'localhost:8787'],
    ['dash.example.com', 'dash.example.com'],
    ['[::1]:8787', '[::1]:8787'],
    [' example.com ', 'example.com'],
    [undefined, undefined],
    ['', undefined],
    ['example.com:80:80', undefined],
    ["example.com; script-src 'unsafe-inline'", undefined],
    ['example.com/path', undefined],
    ['user@example.com', undefined],
    ['example.com:port', undefined],
    ['-example.com', undefined],
  ])('%j → %j', (header, expected) => {
    expect(requestHost(header)).toBe(expected);
  });
});

describe('isSameOrigin', () => {
  test.each<[string, string | undefined, boolean]>([
    ['http://127.0.0.1:8787', '127.0.0.1:8787', true],
    ['https://127.0.0.1:8787', '127.0.0.1:8787', true],
    ['HTTP://Dash.Example:8443/', 'dash.example:8443', true],
    ['http://dash.example', 'dash.example', true],
    ['http://dash.example', 'dash.example:80', true],
    ['https://dash.example', 'dash.example:443', true],
    ['http://dash.example:443', 'dash.example:443', true],
    ['https://dash.example', 'dash.example:80', false],
    ['http://127.0.0.1:8788', '127.0.0.1:8787', false],
    ['http://localhost:8787', '127.0.0.1:8787', false],
    ['http://evil.example', '127.0.0.1:8787', false],
    ['http://127.0.0.1', '127.0.0.1:8787', false],
    ['ws://127.0.0.1:8787', '127.0.0.1:8787', false],
    ['null', 'null', false],
    ['http://127.0.0.1:8787', undefined, false],
    ['http://127.0.0.1:8787', '', false],
    ['http://a.example; x', 'a.example; x', false],
  ])('Origin %j with Host %j → %s', (origin, host, expected) => {
    expect(isSameOrigin(origin, host)).toBe(expected);
  });
});

describe('origin policy with the request Host', () => {
  const policy = createOriginPolicy({ allowedOrigins: ['https://app.example.com'], allowExtensionOrigins: false });
  policy.addOwnOrigins('127.0.0.1', 8787);

  test.each<[string | undefined, string | undefined, boolean]>([
    ['http://dash.example:8443', 'dash.example:8443', true],
    ['https://dash.example', 'dash.example', true],
    ['http://dash.example:8443', '127.0.0.1:8787', false],
    ['http://evil.example', '127.0.0.1:8787', false],
    ['http://127.0.0.1:9999', '127.0.0.1:8787', false],
    // The loopback names of the bound port stay accepted whatever the Host (as before).
    ['http://localhost:8787', '127.0.0.1:8787', true],
    ['https://app.example.com', 'anything.example', true],
    [undefined, 'anything.example', true],
  ])('Origin %j, Host %j → %s', (origin, host, expected) => {
    expect(policy.check(origin, host).ok).toBe(expected);
  });

  test('a foreign origin gets the same refusal as before, Host or not', () => {
    const refusal = { ok: false, reason: 'Origin "http://evil.example" is not allowed' };
    expect(policy.check('http://evil.example', '127.0.0.1:8787')).toEqual(refusal);
    expect(policy.check('http://evil.example')).toEqual(refusal);
  });
});
