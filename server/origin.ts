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
  check(origin: string | undefined): OriginCheck;
  /** Adds the server's own origins once its port is known (port 0 picks one at listen time). */
  addOwnOrigins(host: string, port: number): void;
}

const EXTENSION_ORIGIN = /^(chrome-extension|moz-extension):\/\/[a-z0-9-]{1,64}$/;

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
    check(origin) {
      if (origin === undefined) return { ok: true };
      const normalised = normalise(origin);
      if (allowed.has(normalised)) return { ok: true };
      if (options.allowExtensionOrigins && EXTENSION_ORIGIN.test(normalised)) return { ok: true };
      return { ok: false, reason: `Origin ${JSON.stringify(origin.slice(0, 200))} is not allowed` };
    },
  };
}
