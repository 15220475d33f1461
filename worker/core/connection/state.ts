/**
 * The connection's one state union and the pure rules read from it: what views see of it
 * (`toHubStatus`) and what saving settings does in each state (`settingsEffect`). The machine
 * that moves between the states is `./connection.ts`.
 */
import type { HttpTransportName, HubStatus } from '../../../lib/rpc/hub-api';
import type { Settings } from '../../../lib/rpc/settings';
import { tokenSubject } from '../token-subject';

export type ConnectionState =
  | { readonly s: 'idle'; readonly reason: string }
  | { readonly s: 'connecting'; readonly attempt: number }
  /** `transport`: only when not the WebSocket, so a WebSocket's state reads as before. */
  | {
      readonly s: 'open';
      readonly attempt: number;
      readonly session: string;
      readonly user: string;
      readonly since: number;
      readonly transport?: HttpTransportName;
    }
  | { readonly s: 'waiting'; readonly attempt: number; readonly retryAt: number; readonly reason: string }
  | { readonly s: 'offline' }
  /** `code`: the server's close code when it refused the connection (4001, 4003, 4010, 4011). */
  | { readonly s: 'closed'; readonly reason: string; readonly code?: number };

export interface Transition {
  readonly from: ConnectionState;
  readonly to: ConnectionState;
}

/** The view-facing status of a connection state (an open one without its attempt count). */
export function toHubStatus(state: ConnectionState): HubStatus {
  if (state.s !== 'open') return state;
  // Everything but the attempt count, so what the state gains reaches the views by itself.
  const { attempt: _attempt, ...status } = state;
  return status;
}

/** What applying new settings does to the connection. */
export type SettingsEffect =
  | { readonly k: 'none' }
  /** Send the new token over the open socket (`refresh`): same server, same user. */
  | { readonly k: 'refresh'; readonly token: string; readonly user: string }
  /** Drop what there is and connect again at once. */
  | { readonly k: 'reconnect' }
  /** Nothing is connected or trying to: connect now. */
  | { readonly k: 'connect' };

/** What replacing `old` settings (`null`: none yet) by `next` does to a connection in `state`. */
export function settingsEffect(state: ConnectionState, old: Settings | null, next: Settings): SettingsEffect {
  const changed = old === null || next.serverUrl !== old.serverUrl || next.token !== old.token;
  switch (state.s) {
    case 'offline':
      return { k: 'none' }; // Applied when the network comes back.
    case 'open':
      // A new token for the same user replaces the old one without dropping the socket, so
      // no subscription or replay is redone; the server closes with 4010 if it refuses it.
      if (changed && old !== null && next.serverUrl === old.serverUrl && next.token && tokenSubject(next.token) === state.user) {
        return { k: 'refresh', token: next.token, user: state.user };
      }
      return changed ? { k: 'reconnect' } : { k: 'none' };
    case 'connecting':
    case 'waiting':
      return changed ? { k: 'reconnect' } : { k: 'none' };
    case 'idle':
    case 'closed':
      // Saving the same settings again is how a user says "try again" after a refused token.
      return { k: 'connect' };
  }
}
