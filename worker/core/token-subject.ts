/**
 * Reads who an access token is for, without verifying it (only the server can). The hub uses it to
 * decide whether a newly saved token can replace the current one over the open socket (`refresh`,
 * same user) or needs a new connection (another user: another feed).
 */
import { decodeJwt } from 'jose';

/** The token's `sub` claim, or `null` when the token is not a readable JWT. */
export function tokenSubject(token: string): string | null {
  try {
    const { sub } = decodeJwt(token);
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}
