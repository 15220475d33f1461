/**
 * User settings shared by the options page and the hub, with their defaults and validation. The
 * server URL is typed as the user thinks of it (`http://host:port`); the WebSocket URL is derived.
 */
import { err, ok, type Result } from '../errors';

export interface Settings {
  /** Base URL of the Switchboard server. Default `http://127.0.0.1:8787`. */
  readonly serverUrl: string;
  /**
   * Access token sent in the handshake, minted by the server's admin (`POST /api/tokens`). Default
   * `''`: with no token the hub stays idle and views ask the user to set one in Options.
   */
  readonly token: string;
  /**
   * Show a system notification for an alert when no normal web tab is in front (an overlay needs
   * one). Default `true`.
   */
  readonly systemNotifications?: boolean;
  /**
   * Local times between which no overlay or system notification is shown (the feed and badge
   * still update). `start` after `end` spans midnight. Default none.
   */
  readonly quietHours?: QuietHours | null;
}

/** `HH:MM` in 24-hour local time. */
export interface QuietHours {
  readonly start: string;
  readonly end: string;
}

const TIME_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Minutes since local midnight of an `HH:MM` text. */
function minutesOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

/** True when local time `date` falls inside the quiet hours (start inclusive, end exclusive). */
export function inQuietHours(quiet: QuietHours | null | undefined, date: Date): boolean {
  if (!quiet) return false;
  const now = date.getHours() * 60 + date.getMinutes();
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return false;
  return start < end ? now >= start && now < end : now >= start || now < end;
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
  const { systemNotifications, quietHours } = input as Record<string, unknown>;
  if (systemNotifications !== undefined && typeof systemNotifications !== 'boolean') {
    return err('InvalidSettings', 'System notifications must be on or off');
  }
  let quiet: QuietHours | null = null;
  if (quietHours !== undefined && quietHours !== null) {
    const { start, end } = quietHours as Record<string, unknown>;
    if (typeof start !== 'string' || typeof end !== 'string' || !TIME_PATTERN.test(start) || !TIME_PATTERN.test(end)) {
      return err('InvalidSettings', 'Quiet hours must be two times like 22:00 and 07:00');
    }
    quiet = { start, end };
  }
  return ok({
    serverUrl: serverUrl.trim(),
    token: token.trim(),
    systemNotifications: systemNotifications ?? true,
    quietHours: quiet,
  });
}
