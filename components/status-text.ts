/**
 * The status line's words, shared by every view so the popup, the options page and the dashboard
 * say the same. A connection the server refused for good names the cause and the fix, which depend
 * on where the hub runs: the extension's token is saved in Options, the dashboard's by signing in.
 */
import type { HubStatus } from '../lib/rpc/hub-api';
import { CloseCode } from '../lib/wire/close-codes';

/** Where the status is shown: the extension's own pages, or the web dashboard the server serves. */
export type StatusHost = 'extension' | 'dashboard';

const NEW_TOKEN: Readonly<Record<StatusHost, string>> = {
  extension: 'Save a new access token in Options',
  dashboard: 'Sign in with a new access token',
};

/** What a refused connection says, by the server's close code; `null` when the code says nothing more than its reason. */
function refusal(code: number | undefined, reason: string, host: StatusHost): string | null {
  switch (code) {
    case CloseCode.originForbidden:
      // The dashboard's own origin is always allowed unless a proxy rewrote the Host header.
      return host === 'extension'
        ? "Not connected: this server does not allow the extension's origin (ALLOWED_ORIGINS)"
        : "Not connected: this server does not allow this page's origin (ALLOWED_ORIGINS, or a proxy that changes the Host header)";
    case CloseCode.unauthorized:
      return `Not connected: ${reason}. ${NEW_TOKEN[host]}`;
    case CloseCode.tokenExpired:
      return `Not connected: the access token expired. ${NEW_TOKEN[host]}`;
    case CloseCode.unsupportedVersion:
      return `Not connected: ${reason}. ${host === 'extension' ? 'Update the extension' : 'Reload the page'}`;
    default:
      return null;
  }
}

/**
 * Text for a hub status at wall-clock time `now` (ms), e.g. `Connected`, `Reconnecting in 3s (…)`,
 * `Not connected: …`. `host` picks the fix a refusal names. Default `extension`.
 */
export function describeStatus(status: HubStatus, now: number, host: StatusHost = 'extension'): string {
  switch (status.s) {
    case 'open':
      // A WebSocket says plain `Connected`; a fallback names itself, e.g. `Connected (long polling)`.
      return status.transport ? `Connected (${status.transport})` : 'Connected';
    case 'connecting':
      return status.attempt === 0 ? 'Connecting…' : 'Reconnecting…';
    case 'waiting': {
      const seconds = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
      return `Reconnecting in ${Number.isFinite(seconds) ? seconds : '?'}s (${status.reason})`;
    }
    case 'offline':
      return 'Offline';
    case 'idle':
      return `Not connected: ${status.reason}`;
    case 'closed':
      return refusal(status.code, status.reason, host) ?? `Disconnected: ${status.reason}`;
  }
}
