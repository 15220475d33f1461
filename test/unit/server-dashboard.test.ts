/**
 * The dashboard's request path → file mapping and its security headers, without a server (the
 * integration suite `dashboard-static.test.ts` serves real files).
 */
import { describe, expect, test } from 'vitest';
import { resolveRequestPath, securityHeaders } from '../../server/http/dashboard';

describe('resolveRequestPath', () => {
  test.each<[string, readonly string[]]>([
    ['/', ['index.html']],
    ['/?token=x', ['index.html']],
    ['/index.html', ['index.html']],
    ['/assets/index-3f9a1c.js', ['assets', 'index-3f9a1c.js']],
    ['/assets/index-3f9a1c.js?v=2', ['assets', 'index-3f9a1c.js']],
    ['/assets/', ['assets']],
    ['/a%20b.png', ['a b.png']],
    ['/%252e%252e/x', ['%2e%2e', 'x']],
    ['/x..y/z', ['x..y', 'z']],
  ])('%j → %j', (target, segments) => {
    expect(resolveRequestPath(target)).toEqual({ ok: true, segments });
  });

  test.each([
    '/..',
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/assets/./x.js',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/..%2fsecret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/..\\secret.txt',
    '/assets\\x.js',
    '/index.html%00.js',
    '/index.html\0',
    '//etc/passwd',
    '/%2fetc%2fpasswd',
    '/assets//x.js',
    '/C:/Windows/win.ini',
    '/c%3a%5cwindows',
    '/%E0%A4%A',
    'http://evil.example/secret.txt',
    '*',
    '',
  ])('%j is refused with 400', (target) => {
    expect(resolveRequestPath(target)).toMatchObject({ ok: false, status: 400 });
  });

  test.each(['/.vite/manifest.json', '/.env', '/assets/.hidden', '/..x/y'])('dot-file %j is a 404', (target) => {
    expect(resolveRequestPath(target)).toMatchObject({ ok: false, status: 404 });
  });
});

describe('securityHeaders', () => {
  test('a strict CSP naming the WebSocket URLs of the Host, and the other headers', () => {
    expect(securityHeaders('127.0.0.1:8787')).toEqual({
      'content-security-policy':
        "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self' ws://127.0.0.1:8787 wss://127.0.0.1:8787; " +
        "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'x-frame-options': 'DENY',
    });
  });

  test.each([undefined, '', "x; script-src 'unsafe-inline'", 'a b'])('Host %j is not written into the CSP', (host) => {
    const csp = securityHeaders(host)['content-security-policy'];
    expect(csp).toContain("connect-src 'self'; ");
    expect(csp).not.toContain('ws:');
    expect(csp).not.toContain('unsafe');
  });
});
