/**
 * Which screen the dashboard shows, from the hub's status and where the user is in signing in. The
 * hub says whether a token is stored and works: `idle` means none is stored (or the user signed
 * out), `closed` that the server refused the connection for good (a refused or expired token, an
 * origin not allowed); every other status means a token is stored and the hub is, or will be,
 * connected with it. A sign-in is over once the hub reports a status newer than the one it had when
 * the token was saved: statuses and call answers travel on different ports, so the status the view
 * holds right after saving may still be the old one.
 */
import type { HubStatus } from '@/lib/rpc/hub-api';

export type SignInPhase =
  | { readonly s: 'none' }
  | { readonly s: 'saving' }
  | { readonly s: 'connecting'; readonly after: HubStatus | null }
  | { readonly s: 'failed'; readonly message: string };

export type Screen =
  | { readonly s: 'loading' }
  | { readonly s: 'sign-in'; readonly busy: boolean; readonly error: string | null }
  | { readonly s: 'dashboard' };

const refused = (status: HubStatus): string | null => (status.s === 'closed' ? `Could not sign in. ${status.reason}` : null);

/** Whether a sign-in in `phase` has its answer in `status`. */
export function signInSettled(phase: SignInPhase, status: HubStatus | null): boolean {
  if (phase.s !== 'connecting' || status === null || status === phase.after) return false;
  return status.s === 'open' || status.s === 'closed' || status.s === 'idle';
}

export function screenOf(status: HubStatus | null, phase: SignInPhase): Screen {
  switch (phase.s) {
    case 'saving':
      return { s: 'sign-in', busy: true, error: null };
    case 'failed':
      return { s: 'sign-in', busy: false, error: phase.message };
    case 'connecting':
      if (!signInSettled(phase, status)) return { s: 'sign-in', busy: true, error: null };
      break;
    case 'none':
      break;
  }
  if (status === null) return { s: 'loading' };
  if (status.s === 'idle' || status.s === 'closed') return { s: 'sign-in', busy: false, error: refused(status) };
  return { s: 'dashboard' };
}
