/**
 * What the hub's HTTP transports share about the server's `/rt/` endpoints (README "HTTP
 * transports"): where they live relative to `/ws` and the shape of the server's close (the secret
 * header and the POST limit are both sides', in `lib/wire/http-transport.ts`). Kept apart from the socket and its readers so both can use it.
 */

/** The part of `fetch` the transports use; the host's `fetch`, or a fake in tests. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;


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

