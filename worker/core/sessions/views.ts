/**
 * The views connected to the hub: one session each, the status every view is told, and the end of
 * every session when the hub closes.
 */
import type { HubStatus } from '../../../lib/rpc/hub-api';
import { createSession, type HubSession, type SessionDeps } from './session';

/** What every session gets; the views add the status watch and their own bookkeeping. */
export type ViewsDeps = Omit<SessionDeps, 'watchStatus' | 'onClose'>;

export interface Views {
  /** A new view's session; closing it removes it here. */
  open(): HubSession;
  /** Tells every view the new status. */
  status(status: HubStatus): void;
  /** Closes every session. */
  closeAll(): void;
}

export function createViews(deps: ViewsDeps): Views {
  const sessions = new Set<HubSession>();
  const statusListeners = new Set<(status: HubStatus) => void>();

  return {
    open() {
      const session = createSession({
        ...deps,
        watchStatus: (listener) => {
          statusListeners.add(listener);
          return () => statusListeners.delete(listener);
        },
        onClose: () => sessions.delete(session),
      });
      sessions.add(session);
      return session;
    },
    status(status) {
      for (const listener of statusListeners) listener(status);
    },
    closeAll() {
      for (const session of [...sessions]) session.close();
    },
  };
}
