/** The status line's words, shared by every view so the popup and the dashboard say the same. */
import type { HubStatus } from '../lib/rpc/hub-api';

/** Text for a hub status at wall-clock time `now` (ms), e.g. `Connected`, `Reconnecting in 3s`. */
export function describeStatus(status: HubStatus, now: number): string {
  switch (status.s) {
    case 'open':
      return 'Connected';
    case 'connecting':
      return status.attempt === 0 ? 'Connecting…' : 'Reconnecting…';
    case 'waiting': {
      const seconds = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
      return `Reconnecting in ${seconds}s (${status.reason})`;
    }
    case 'offline':
      return 'Offline';
    case 'idle':
      return `Not connected: ${status.reason}`;
    case 'closed':
      return `Disconnected: ${status.reason}`;
  }
}
