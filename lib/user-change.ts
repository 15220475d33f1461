/**
 * "Did the user change": whose feed and alerts the hub or a view shows. Another user's token means
 * everything shown belongs to the last user: the hub refreshes its badge, a view clears its lists.
 */

/**
 * Returns a function that records each user seen and answers whether it differs from the one seen
 * before it; the first user seen is no change.
 */
export function watchUser(): (user: string | null) => boolean {
  let seen: { readonly user: string | null } | null = null;
  return (user) => {
    const changed = seen !== null && seen.user !== user;
    seen = { user };
    return changed;
  };
}
