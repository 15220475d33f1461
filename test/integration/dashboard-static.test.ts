/**
 * The dashboard served at `/` by a real server from a temp directory of fixture files: content
 * types, caching and revalidation, the security headers, traversal attempts sent raw (fetch would
 * normalise them away) that never reach the secret file beside the directory, methods, HEAD, the
 * 503 of an unbuilt dashboard, the API routes keeping priority, and the WebSocket Origin of a page
 * the server itself served.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server';
import { CloseCode } from '../../lib/wire/close-codes';
import { connectAndGreet, helloAnswer } from '../support/ws-client';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-DASHBOARD';
const INDEX = '<!doctype html><title>Switchboard</title><script type="module" src="/assets/index-3f9a1c.js"></script>';
const JS = 'export const answer = 42;\n';
const BIG_BYTES = 4 * 1024 * 1024;

let root: string;
let dir: string;
let server: TestServer;

/** The fixture build: what Vite writes, plus traps (a symlink out, a dot-dir, a sub-directory). */
function writeFixtures(): void {
  root = mkdtempSync(join(tmpdir(), 'switchboard-dashboard-'));
  dir = join(root, 'dashboard');
  writeFileSync(join(root, 'secret.txt'), SECRET);
  mkdirSync(join(dir, 'assets'), { recursive: true });
  mkdirSync(join(dir, '.vite'));
  mkdirSync(join(dir, 'empty'));
  const files: Record<string, string | Buffer> = {
    'index.html': INDEX,
    'shared-worker.js': 'self.onconnect = () => {};\n',
    'favicon.ico': Buffer.from([0, 0, 1, 0]),
    'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    'icon.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
    'data.json': '{"a":1}',
    'manifest.webmanifest': '{"name":"Switchboard"}',
    'assets/index-3f9a1c.js': JS,
    'assets/worker-77aa01.mjs': JS,
    'assets/index-3f9a1c.js.map': '{"version":3}',
    'assets/index-b2c4d6.css': 'body{margin:0}',
    'assets/inter-a1b2.woff2': Buffer.from('wOF2'),
    'assets/big-0000.bin': Buffer.alloc(BIG_BYTES, 7),
    '.vite/manifest.json': '{}',
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  symlinkSync(join(root, 'secret.txt'), join(dir, 'leak.txt'));
  symlinkSync(root, join(dir, 'up'));
}

interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Everything after the header block, byte for byte. */
  readonly body: string;
}

/** Sends one request line exactly as written (no URL normalisation) and reads the whole answer. */
function raw(method: string, target: string, headers: Readonly<Record<string, string>> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body: text.slice(split + 4) });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n${extra}Connection: close\r\n\r\n`, 'latin1');
  });
}

/** The headers every dashboard answer carries, for this server's Host. */
function expectSecurityHeaders(get: (name: string) => string | null | undefined): void {
  const host = `127.0.0.1:${server.port}`;
  expect(get('content-security-policy')).toBe(
    `default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self' ws://${host} wss://${host}; ` +
      "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  );
  expect(get('x-content-type-options')).toBe('nosniff');
  expect(get('referrer-policy')).toBe('no-referrer');
  expect(get('cross-origin-opener-policy')).toBe('same-origin');
  expect(get('x-frame-options')).toBe('DENY');
}

beforeAll(async () => {
  writeFixtures();
  server = await startTestServer({ dashboardDir: dir });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe('files', () => {
  test('GET / is index.html, revalidated every time, with the security headers', async () => {
    const answer = await server.request('GET', '/', { token: null });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(INDEX);
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-cache');
    expect(answer.headers.get('etag')).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    expect(answer.headers.get('last-modified')).toMatch(/GMT$/);
    expectSecurityHeaders((name) => answer.headers.get(name));
    expect(server.server.dashboardBuilt()).toBe(true);
    expect(server.server.dashboardUrl).toBe(`${server.url}/`);
  });

  test.each([
    ['/index.html', 'text/html; charset=utf-8', 'no-cache'],
    ['/shared-worker.js', 'text/javascript; charset=utf-8', 'no-cache'],
    ['/favicon.ico', 'image/x-icon', 'no-cache'],
    ['/logo.png', 'image/png', 'no-cache'],
    ['/icon.svg', 'image/svg+xml', 'no-cache'],
    ['/data.json', 'application/json; charset=utf-8', 'no-cache'],
    ['/manifest.webmanifest', 'application/manifest+json; charset=utf-8', 'no-cache'],
    ['/assets/index-3f9a1c.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
    ['/assets/worker-77aa01.mjs', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
    ['/assets/index-3f9a1c.js.map', 'application/json; charset=utf-8', 'public, max-age=31536000, immutable'],
    ['/assets/index-b2c4d6.css', 'text/css; charset=utf-8', 'public, max-age=31536000, immutable'],
    ['/assets/inter-a1b2.woff2', 'font/woff2', 'public, max-age=31536000, immutable'],
    ['/assets/index-3f9a1c.js?v=1', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
  ])('GET %s is %s, cached as %s', async (path, type, cache) => {
    const answer = await server.request('GET', path, { token: null });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe(type);
    expect(answer.headers.get('cache-control')).toBe(cache);
    expectSecurityHeaders((name) => answer.headers.get(name));
  });

  test('a large file arrives whole (streamed)', async () => {
    const response = await fetch(`${server.url}/assets/big-0000.bin`);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(bytes.byteLength).toBe(BIG_BYTES);
    expect(bytes.every((b) => b === 7)).toBe(true);
  });

  test('If-None-Match and If-Modified-Since answer 304 without a body; a changed tag gets the file', async () => {
    const first = await raw('GET', '/assets/index-3f9a1c.js');
    const etag = first.headers.etag!;
    const notModified = await raw('GET', '/assets/index-3f9a1c.js', { 'If-None-Match': etag });
    expect(notModified.status).toBe(304);
    expect(notModified.body).toBe('');
    expect(notModified.headers.etag).toBe(etag);
    expect(notModified.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expectSecurityHeaders((name) => notModified.headers[name]);
    expect((await raw('GET', '/', { 'If-None-Match': `"other", ${etag.slice(2)}` })).status).toBe(200);
    expect((await raw('GET', '/', { 'If-Modified-Since': first.headers['last-modified']! })).status).toBe(304);
    expect((await raw('GET', '/', { 'If-None-Match': '"other"', 'If-Modified-Since': first.headers['last-modified']! })).status).toBe(200);
    expect((await raw('GET', '/', { 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status).toBe(200);
  });

  test('HEAD has the headers of GET and no body', async () => {
    const head = await raw('HEAD', '/assets/index-3f9a1c.js');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(JS)));
    expect(head.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(head.body).toBe('');
    expectSecurityHeaders((name) => head.headers[name]);
    const headMissing = await raw('HEAD', '/nothing.js');
    expect(headMissing.status).toBe(404);
    expect(headMissing.body).toBe('');
  });
});

describe('refusals', () => {
  test.each(['/nothing.js', '/assets/nothing.js', '/assets', '/assets/', '/empty', '/.vite/manifest.json', '/metrics/x', '/healthz/'])(
    'GET %s is a plain 404 with the security headers (no listing, no dot-files)',
    async (path) => {
      const answer = await raw('GET', path);
      expect(answer.status).toBe(404);
      expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(answer.body).toBe('Not found\n');
      expectSecurityHeaders((name) => answer.headers[name]);
    },
  );

  test.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/..%2fsecret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/..\\secret.txt',
    '/%252e%252e/secret.txt',
    '/index.html%00',
    '/%00../secret.txt',
    `/${'%2e%2e/'.repeat(12)}etc/passwd`,
    '//etc/passwd',
    '/%2fetc%2fpasswd',
    '/C:%5cWindows%5cwin.ini',
    '/leak.txt',
    '/up/secret.txt',
    'http://127.0.0.1/../secret.txt',
  ])('%s is refused (400 or 404) and never reaches a file outside', async (target) => {
    const answer = await raw('GET', target);
    expect([400, 404]).toContain(answer.status);
    expect(answer.body).not.toContain(SECRET);
    expect(answer.body).not.toContain('root:');
  });

  test('the absolute path of the secret, encoded, is refused', async () => {
    const answer = await raw('GET', `/%2f${root.slice(1).split('/').join('%2f')}%2fsecret.txt`);
    expect(answer.status).toBe(400);
    expect(answer.body).not.toContain(SECRET);
  });

  test.each(['POST', 'PUT', 'DELETE', 'OPTIONS'])('%s / is 405 with Allow: GET, HEAD', async (method) => {
    const answer = await raw(method, '/', { 'Content-Length': '2' });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
    expectSecurityHeaders((name) => answer.headers[name]);
  });
});

describe('the API keeps its paths', () => {
  test('health, metrics, the admin API, its JSON 404 and /ws are not dashboard files', async () => {
    expect((await server.request('GET', '/healthz', { token: null })).body).toEqual({ ok: true });
    expect((await server.request('GET', '/metrics', { token: null })).text).toContain('switchboard_ws_connections');
    expect((await server.request('POST', '/api/prices', { body: { symbol: 'AAPL', price: 10 } })).status).toBe(200);
    const missing = await server.request('GET', '/api/nothing', { token: null });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'Not found: GET /api/nothing' });
    expect((await server.request('GET', '/api', { token: null })).headers.get('content-type')).toMatch(/^application\/json/);
    expect((await server.request('GET', '/ws', { token: null })).status).toBe(426);
  });
});

describe('not built', () => {
  test('/ answers 503 saying to build, logged once at start; the rest still works; a later build is served', async () => {
    const emptyRoot = mkdtempSync(join(tmpdir(), 'switchboard-unbuilt-'));
    const unbuiltDir = join(emptyRoot, 'dashboard');
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const unbuilt = await startTestServer({ dashboardDir: unbuiltDir, logger });
    try {
      expect(unbuilt.server.dashboardBuilt()).toBe(false);
      const answer = await unbuilt.request('GET', '/', { token: null });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(answer.text).toContain('npm run build:dashboard');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect((await unbuilt.request('GET', '/assets/index-3f9a1c.js', { token: null })).status).toBe(404);
      expect((await unbuilt.request('GET', '/healthz', { token: null })).status).toBe(200);
      await unbuilt.request('GET', '/', { token: null });
      expect(lines.filter((line) => line.includes('npm run build:dashboard'))).toHaveLength(1);

      mkdirSync(unbuiltDir);
      writeFileSync(join(unbuiltDir, 'index.html'), INDEX);
      expect((await unbuilt.request('GET', '/', { token: null })).text).toBe(INDEX);
    } finally {
      await unbuilt.close();
      rmSync(emptyRoot, { recursive: true, force: true });
    }
  });
});

/** Opens `/ws` with this Origin and Host, says hello, and resolves with `welcome` or the close code. */
async function originAnswer(origin: string, host?: string): Promise<'welcome' | number> {
  const answer = await helloAnswer(server.url, { origin, ...(host === undefined ? {} : { host }) });
  return answer.answer === 'welcome' ? 'welcome' : answer.close.code;
}

describe("WebSocket from the dashboard's own origin", () => {
  test('the origin of the page this server served is accepted, and completes the handshake', async () => {
    const { client, welcome } = await connectAndGreet(server.url, { origin: `http://127.0.0.1:${server.port}` });
    expect(welcome.user).toBe('dev');
    await client.close();
  });

  test('an Origin equal to http:// or https:// plus the Host is accepted, whatever the name', async () => {
    expect(await originAnswer('http://dash.example:8443', 'dash.example:8443')).toBe('welcome');
    expect(await originAnswer('https://dash.example', 'dash.example')).toBe('welcome');
  });

  test('foreign origins, other ports and an Origin not matching the Host are closed with 4003 and counted', async () => {
    const before = await server.metric('switchboard_connections_refused_total', { reason: 'origin' });
    expect(await originAnswer('http://evil.example')).toBe(CloseCode.originForbidden);
    const otherPort = server.port === 65_535 ? server.port - 1 : server.port + 1;
    expect(await originAnswer(`http://127.0.0.1:${otherPort}`)).toBe(CloseCode.originForbidden);
    expect(await originAnswer('http://dash.example:8443', `127.0.0.1:${server.port}`)).toBe(CloseCode.originForbidden);
    expect(await originAnswer('http://evil.example', 'dash.example')).toBe(CloseCode.originForbidden);
    expect(await server.metric('switchboard_connections_refused_total', { reason: 'origin' })).toBe(before + 4);
  });
});
