/**
 * What the hub's HTTP transports share about the server's `/rt/` endpoints (README "HTTP
 * transports"): where they live relative to `/ws`, the secret header, the POST limit and the shape
 * of the server's close. Kept apart from the socket and its readers so both can use it.
 */

/** The part of `fetch` the transports use; the host's `fetch`, or a fake in tests. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** The header that carries a session's secret (never the URL). */
export const SESSION_HEADER = 'x-switchboard-session';

/** The most client frames the server takes in one `POST …/frames`. */
export const MAX_FRAMES_PER_POST = 64;

/** `ws(s)://host/prefix/ws` (what `toWebSocketUrl` makes of the settings) → `http(s)://host/prefix/rt`. */
export function httpBaseUrl(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.replace(/\/ws\/?$/, '').replace(/\/$/, '') + '/rt';
  url.search = '';
  return url.toString();
}

/** The server's `{code, reason}` close, or `null` when `value` is not one. */
export function parseClose(value: unknown): { code: number; reason: string } | null {
  if (value === null || typeof value !== 'object') return null;
  const { code, reason } = value as Record<string, unknown>;
  if (typeof code !== 'number' || !Number.isInteger(code)) return null;
  return { code, reason: typeof reason === 'string' ? reason : '' };
}

