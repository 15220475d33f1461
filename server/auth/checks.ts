/**
 * Who may do what: the shape of an access-token check (the JWT service in `tokens.ts` is the real
 * one), the test-only fixed dev token and the admin API's bearer check; who may read a topic is in
 * `lib/wire/topics.ts`. Secret comparisons run in constant time so a token cannot be guessed byte
 * by byte from response timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Outcome of checking an access token; `reason` is shown to the client in the `error` frame.
 * `expiresAt` (ms) is when the connection must refresh or be closed with 4011.
 */
export type TokenCheck =
  | { readonly ok: true; readonly user: string; readonly expiresAt?: number }
  | { readonly ok: false; readonly reason: string; readonly expired?: boolean };

/** Checks an access token from `hello` or `refresh`. */
export type TokenVerifier = (token: string) => TokenCheck | Promise<TokenCheck>;

/**
 * Equal-length digests make `timingSafeEqual` usable on inputs of any length without leaking the
 * secret's length through an early length mismatch.
 */
export function secretEquals(given: string, secret: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(secret));
}

/** The fixed dev token (tests only, off by default): exactly one token, which belongs to user `dev` and never expires. */
export function createDevTokenVerifier(devToken: string): TokenVerifier {
  return (token) =>
    secretEquals(token, devToken) ? { ok: true, user: 'dev' } : { ok: false, reason: 'Access token refused' };
}

/** Accepts what `primary` accepts, and the dev token besides when one is configured. */
export function withDevToken(primary: TokenVerifier, devToken: string | undefined): TokenVerifier {
  if (devToken === undefined) return primary;
  const dev = createDevTokenVerifier(devToken);
  return async (token) => {
    const check = await dev(token);
    return check.ok ? check : primary(token);
  };
}

/** Checks an `Authorization: Bearer <token>` header against the admin token. */
export function isAdminRequest(authorization: string | undefined, adminToken: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1] !== undefined && secretEquals(match[1], adminToken);
}
