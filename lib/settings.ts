/**
 * User settings shared by the options page and the hub, with their defaults and validation. The
 * server URL is typed as the user thinks of it (`http://host:port`); the WebSocket URL is derived.
 */
import { err, ok, type Result } from './errors';

export interface Settings {
  /** Base URL of the Switchboard server. Default `http://127.0.0.1:8787`. */
  readonly serverUrl: string;
  /**
   * Access token sent in the handshake, minted by the server's admin (`POST /api/tokens`). Default
   * `''`: with no token the hub stays idle and views ask the user to set one in Options.
   */
  readonly token: string;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = {
  serverUrl: 'http://127.0.0.1:8787',
  token: '',
};

/**
 * Derives the WebSocket endpoint from a server URL: `http` becomes `ws`, `https` becomes `wss`, and
 * a URL without a path gets `/ws`. Returns an error naming what is wrong with the input.
 */
export function toWebSocketUrl(serverUrl: string): Result<string> {
  let url: URL;
  try {
    url = new URL(serverUrl.trim());
  } catch {
    return err('InvalidSettings', `Server URL is not a URL: ${JSON.stringify(serverUrl)}`);
  }
  const schemes: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };
  const scheme = schemes[url.protocol];
  if (!scheme) return err('InvalidSettings', `Server URL must start with http://, https://, ws:// or wss://`);
  if (url.username || url.password) return err('InvalidSettings', 'Server URL must not contain credentials');
  url.protocol = scheme;
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/ws';
  url.hash = '';
  return ok(url.toString());
}

/** Validates settings from a view or storage; unknown fields are dropped. */
export function parseSettings(input: unknown): Result<Settings> {
  if (input === null || typeof input !== 'object') return err('InvalidSettings', 'Settings must be an object');
  const { serverUrl, token } = input as Record<string, unknown>;
  if (typeof serverUrl !== 'string' || typeof token !== 'string') {
    return err('InvalidSettings', 'Server URL and access token must be text');
  }
  const ws = toWebSocketUrl(serverUrl);
  if (!ws.ok) return ws;
  if (token.length > 4096) return err('InvalidSettings', 'Access token is too long');
  return ok({ serverUrl: serverUrl.trim(), token: token.trim() });
}
