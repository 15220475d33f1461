/**
 * Serves the built web dashboard (`npm run build:dashboard` → `.output/dashboard/`) as static files:
 * `/` is its `index.html`, any other path a file under the directory or 404. It owns the request
 * path → file mapping (which refuses traversal, encoded or not, and symlinks leading out), the
 * content types, caching (hashed `assets/` forever, the rest revalidated by ETag), and the security
 * headers every dashboard answer carries. Files are streamed; a filesystem error is an answer, never
 * a crash. An unbuilt dashboard is not an error either: `/` says how to build it, with a 503.
 */
import { existsSync, type Stats } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { requestHost } from './origin';

export interface DashboardOptions {
  /** The built dashboard's directory (need not exist yet). */
  readonly dir: string;
  readonly logger: Logger;
}

export interface Dashboard {
  /** The directory served, absolute. */
  readonly dir: string;
  /** Whether the directory holds an `index.html` right now. */
  built(): boolean;
  /** Answers any request the API routes did not claim. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** What `/` says while there is nothing to serve. */
export const NOT_BUILT_MESSAGE = 'The dashboard is not built: run `npm run build:dashboard`, then reload.';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite names everything under `assets/` by content hash, so a URL there never changes meaning. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/**
 * The CSP of every dashboard answer. `connect-src` names `ws://` / `wss://` of the request's Host
 * explicitly: CSP Level 3 lets 'self' match ws: and wss: on the same host, but older engines
 * (Safari before 15.4, Chrome before ~78) do not. An unparseable Host gets 'self' alone.
 */
function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host === undefined ? '' : ` ws://${host} wss://${host}`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "worker-src 'self'",
    `connect-src 'self'${sockets}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** The headers on every dashboard answer, files and refusals alike. */
export function securityHeaders(hostHeader: string | undefined): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(requestHost(hostHeader)),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'x-frame-options': 'DENY',
  };
}

export type ResolvedPath =
  | { readonly ok: true; readonly segments: readonly string[] }
  | { readonly ok: false; readonly status: 400 | 404; readonly reason: string };

/**
 * A request target → the path segments of a file under the dashboard, or why not. Refused with 400:
 * anything that is not an origin-form path, undecodable percent-escapes, NUL, backslashes, `.` or
 * `..` segments and empty segments (`//x`, an absolute path once joined), whether written plainly or
 * percent-encoded (every check runs on the decoded path), and `:` (a Windows drive). Refused with
 * 404: dot-files such as Vite's `.vite/manifest.json`, which are build metadata, not the dashboard.
 * `/` is `index.html`. The caller still checks the real path (symlinks) stays inside.
 */
export function resolveRequestPath(target: string): ResolvedPath {
  const bad = (reason: string): ResolvedPath => ({ ok: false, status: 400, reason });
  const raw = target.split('?', 1)[0] ?? '';
  if (!raw.startsWith('/')) return bad('The path must start with /');
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return bad('The path has a malformed percent-escape');
  }
  if (path === '/') return { ok: true, segments: ['index.html'] };
  if (/[\0\\:]/.test(path) || /[\0\\]/.test(raw)) return bad('The path has a forbidden character');
  const segments = path.slice(1).split('/');
  if (segments.at(-1) === '') segments.pop(); // `/assets/` names the directory, which is then a 404.
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') return bad('The path has an empty, . or .. segment');
    if (segment.startsWith('.')) return { ok: false, status: 404, reason: 'Not found' };
  }
  return { ok: true, segments };
}

/** `W/"<size>-<mtime>"`: cheap, and changes whenever a rebuild rewrites the file. */
function etagOf(stats: Stats): string {
  return `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
}

/** RFC 9110 §13.1.2/§13.1.3: If-None-Match (weak comparison) wins; If-Modified-Since only without it. */
function notModified(req: IncomingMessage, etag: string, stats: Stats): boolean {
  const match = req.headers['if-none-match'];
  if (match !== undefined) {
    const bare = (tag: string) => tag.trim().replace(/^W\//, '');
    return match.trim() === '*' || match.split(',').some((tag) => bare(tag) === bare(etag));
  }
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  return Number.isFinite(since) && Math.floor(stats.mtimeMs / 1000) * 1000 <= since;
}

/** errno codes that mean "there is no such file here". */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EISDIR']);

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export function createDashboard(options: DashboardOptions): Dashboard {
  const dir = resolve(options.dir);
  const { logger } = options;
  const indexPath = join(dir, 'index.html');

  function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
    const body = `${text}\n`;
    res.writeHead(status, {
      ...securityHeaders(req.headers.host),
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** The file's real path if it is inside the dashboard's real directory, else undefined (a symlink out, or missing). */
  async function realFile(segments: readonly string[]): Promise<string | undefined> {
    const root = await realpath(dir);
    const real = await realpath(join(root, ...segments));
    return real.startsWith(root.endsWith(sep) ? root : root + sep) ? real : undefined;
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, segments: readonly string[]): Promise<void> {
    const isIndex = segments.length === 1 && segments[0] === 'index.html';
    const missing = () =>
      isIndex ? sendText(req, res, 503, NOT_BUILT_MESSAGE, { 'retry-after': '10' }) : sendText(req, res, 404, 'Not found');
    let file: string | undefined;
    try {
      file = await realFile(segments);
    } catch (error) {
      if (MISSING.has(errorCode(error) ?? '')) return missing();
      throw error;
    }
    if (file === undefined) return sendText(req, res, 404, 'Not found');

    const handle = await open(file, 'r').catch((error: unknown) => {
      if (MISSING.has(errorCode(error) ?? '')) return undefined;
      throw error;
    });
    if (handle === undefined) return missing();
    let streaming = false;
    try {
      const stats = await handle.stat();
      // Directories are never listed, and a FIFO or device has no place in a build output.
      if (!stats.isFile()) return sendText(req, res, 404, 'Not found');
      const etag = etagOf(stats);
      const headers = {
        ...securityHeaders(req.headers.host),
        'cache-control': segments[0] === 'assets' && segments.length > 1 ? IMMUTABLE : REVALIDATE,
        etag,
        'last-modified': stats.mtime.toUTCString(),
      };
      if (notModified(req, etag, stats)) {
        res.writeHead(304, headers);
        return void res.end();
      }
      res.writeHead(200, {
        ...headers,
        'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': String(stats.size),
      });
      if (req.method === 'HEAD') return void res.end();
      streaming = true;
      // The stream owns (and closes) the handle from here; a read error or a client gone mid-file
      // rejects, and the response is cut short rather than completed with a wrong length.
      await pipeline(handle.createReadStream(), res).catch((error: unknown) => {
        if (errorCode(error) !== 'ERR_STREAM_PREMATURE_CLOSE') logger.warn({ err: error, file }, 'dashboard file stream failed');
        res.destroy();
      });
    } finally {
      if (!streaming) await handle.close().catch(() => undefined);
    }
  }

  return {
    dir,
    built: () => existsSync(indexPath),
    async handle(req, res) {
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') {
        req.resume();
        return sendText(req, res, 405, `Method ${method.slice(0, 20)} not allowed: the dashboard is read with GET or HEAD`, { allow: 'GET, HEAD' });
      }
      const path = resolveRequestPath(req.url ?? '/');
      if (!path.ok) return sendText(req, res, path.status, path.reason);
      try {
        await serveFile(req, res, path.segments);
      } catch (error) {
        logger.error({ err: error, path: (req.url ?? '').slice(0, 200) }, 'dashboard file could not be served');
        if (!res.headersSent) sendText(req, res, 500, 'The file could not be read');
        else res.destroy();
      }
    },
  };
}
