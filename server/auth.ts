/**
 * Who may do what: the access-token check of the WebSocket handshake (a seam that real JWT auth
 * replaces in a later issue) and the admin API's bearer check. Both compare in constant time so a
 * token cannot be guessed byte by byte from response timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Outcome of checking an access token; `reason` is shown to the client in the `error` frame. */
export type TokenCheck = { readonly ok: true; readonly user: string } | { readonly ok: false; readonly reason: string };

/** Checks an access token from `hello` or `refresh`. */
export type TokenVerifier = (token: string) => TokenCheck;

/**
 * Equal-length digests make `timingSafeEqual` usable on inputs of any length without leaking the
 * secret's length through an early length mismatch.
 */
export function secretEquals(given: string, secret: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(secret));
}

/** The development verifier: exactly one accepted token, which belongs to user `dev`. */
export function createDevTokenVerifier(devToken: string): TokenVerifier {
  return (token) =>
    secretEquals(token, devToken) ? { ok: true, user: 'dev' } : { ok: false, reason: 'Access token refused' };
}

/** Checks an `Authorization: Bearer <token>` header against the admin token. */
export function isAdminRequest(authorization: string | undefined, adminToken: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1] !== undefined && secretEquals(match[1], adminToken);
}
