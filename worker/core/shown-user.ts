/**
 * Whose feed and alerts the hub shows: the open connection's user; while not open, the access
 * token's subject, else the user of the last open connection with the current token. When that
 * user changes, everything shown belonged to the last one (the badge is refreshed).
 */
import { watchUser } from '../../lib/user-change';
import type { ConnectionState } from './connection/state';
import { tokenSubject } from './token-subject';

export interface ShownUserDeps {
  readonly connection: { readonly state: ConnectionState };
  /** The current access token. */
  token(): string;
}

export interface ShownUser {
  /** The user shown now, `null` when unknown. */
  current(): string | null;
  /** The connection opened for `user`: remembered for while it is not open. */
  opened(user: string): void;
  /** The access token changed: the user remembered no longer counts. */
  forgetLast(): void;
  /** Whether the user shown changed since the last call; the first call only records it. */
  changed(): boolean;
}

export function createShownUser(deps: ShownUserDeps): ShownUser {
  /** The user of the last open connection with the current token, for while the hub is not open. */
  let lastUser: string | null = null;
  const changedFrom = watchUser();

  const current = (): string | null => {
    const state = deps.connection.state;
    if (state.s === 'open') return state.user;
    return tokenSubject(deps.token()) ?? lastUser;
  };

  return {
    current,
    opened(user) {
      lastUser = user;
    },
    forgetLast() {
      lastUser = null;
    },
    changed: () => changedFrom(current()),
  };
}
