/**
 * The Origin allow-list for `/ws` upgrades. Browsers always send `Origin` on WebSocket handshakes and
 * a page cannot forge it, so this is what stops any web page from opening a socket with a user's
 * token (cross-site WebSocket hijacking). Non-browser clients send no Origin and are let through:
 * they must present a token anyway.
 */

export interface OriginPolicyOptions {
  /** Origins allowed besides the server's own, e.g. `https://example.com`. */
  readonly allowedOrigins: readonly string[];
  /** Accept any `chrome-extension://` or `moz-extension://` origin (development). */
  readonly allowExtensionOrigins: boolean;
}

export type OriginCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface OriginPolicy {
  /**
   * Whether an upgrade with this `Origin` may proceed. `host` is the request's `Host` header: an
   * Origin equal to `http://` or `https://` plus that Host is the server's own (see `isSameOrigin`).
   */
  check(origin: string | undefined, host?: string): OriginCheck;
  /** Adds the server's own origins once its port is known (port 0 picks one at listen time). */
  addOwnOrigins(host: string, port: number): void;
}

const EXTENSION_ORIGIN = /^(chrome-extension|moz-extension):\/\/[a-z0-9-]{1,64}$/;

/** A DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port: nothing else. */
const HOST_HEADER = /^(?:[a-z0-9](?:[a-z0-9.-]{0,252})|\[[0-9a-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/**
 * The request's `Host` header as `name[:port]`, lower-case, or `undefined` when it is missing or not
 * a plain host (so it is safe to put in a header such as a Content-Security-Policy).
 */
export function requestHost(header: string | undefined): string | undefined {
  const host = header?.trim().toLowerCase();
  return host !== undefined && HOST_HEADER.test(host) ? host : undefined;
}

/**
 * The server's own origin, judged from the request itself: the Origin is `http://<Host>` or
 * `https://<Host>` (a default port, `:80` or `:443`, written in Host but never in an Origin, is
 * ignored; `https` covers a TLS-terminating proxy that forwards Host).
 *
 * Why this is safe: a browser sets both headers and no script can change either. A page only has
 * the Origin `http://h:p` if it was loaded from `http://h:p`, and a WebSocket it opens to this server
 * carries the Host of the URL it dialled; the two agree only when the page came from the very
 * host:port it is connecting to, i.e. from this server (the dashboard at `/`). A foreign page
 * dialling us still sends its own Origin with our Host, so it is refused. DNS rebinding can make a
 * hostile name agree with itself, but that page shares no storage with the real dashboard, so it has
 * no user token to send; it gains nothing a client without an Origin could not already do.
 */
export function isSameOrigin(origin: string, hostHeader: string | undefined): boolean {
  const host = requestHost(hostHeader);
  if (host === undefined) return false;
  const normalised = normalise(origin);
  return normalised === `http://${host.replace(/:80$/, '')}` || normalised === `https://${host.replace(/:443$/, '')}`;
}

/** Origins compare as scheme://host[:port], lower-case, without a trailing slash (RFC 6454 serialisation). */
function normalise(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

/** The origins a page served by this server itself has, for every name the loopback host goes by. */
function ownOrigins(host: string, port: number): string[] {
  const loopback = ['127.0.0.1', 'localhost', '[::1]'];
  const hostName = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const names = loopback.includes(hostName) || host === '0.0.0.0' || host === '::' ? loopback : [hostName];
  return names.map((name) => `http://${name}:${port}`);
}

export function createOriginPolicy(options: OriginPolicyOptions): OriginPolicy {
  const allowed = new Set(options.allowedOrigins.map(normalise).filter((o) => o.length > 0));
  return {
    addOwnOrigins(host, port) {
      for (const origin of ownOrigins(host, port)) allowed.add(origin);
    },
    check(origin, host) {
      if (origin === undefined) return { ok: true };
      const normalised = normalise(origin);
      if (allowed.has(normalised)) return { ok: true };
      if (isSameOrigin(origin, host)) return { ok: true };
      if (options.allowExtensionOrigins && EXTENSION_ORIGIN.test(normalised)) return { ok: true };
      return { ok: false, reason: `Origin ${JSON.stringify(origin.slice(0, 200))} is not allowed` };
    },
  };
}
