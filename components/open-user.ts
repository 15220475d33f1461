/**
 * Tells a view when the hub opens for another user than it last did (another token was saved, or
 * someone else signed in): everything the view shows belongs to the last user and must go before
 * the new user's feed and alerts are loaded (the client's `onReady` follows at once).
 */
import type { HubStatus } from '../lib/rpc/hub-api';

export function watchOpenUser(onChange: () => void): (status: HubStatus) => void {
  let user: string | undefined;
  return (status) => {
    if (status.s !== 'open') return;
    const changed = user !== undefined && user !== status.user;
    user = status.user;
    if (changed) onChange();
  };
}
