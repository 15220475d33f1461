/**
 * Access tokens: HS256 JWTs (via `jose`) naming one user in `sub`, issued and checked by this
 * server alone (`iss` and `aud` are both `switchboard`). Minting is an admin action
 * (`POST /api/tokens`); checking happens at the handshake and on `refresh`. Time comes from the
 * injected clock, so expiry is testable without waiting.
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import { isUserName } from '../../lib/wire/ids';
import type { TokenCheck, TokenVerifier } from './checks';

/** `iss` and `aud` of every token: a token for some other service is not one of ours. */
export const TOKEN_ISSUER = 'switchboard';
export const TOKEN_AUDIENCE = 'switchboard';
/** The longest lifetime an admin may ask for: a year. */
export const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 3600;
/** HS256 keys shorter than the hash output weaken it (RFC 7518 §3.2). */
export const MIN_SECRET_LENGTH = 32;
/**
 * How far ahead of this server's clock a token's `iat` may be: nodes sharing `TOKEN_SECRET` mint
 * for each other and their clocks drift a little. Further ahead, the token was minted by a clock
 * that is wrong (or in advance, to outlive a key rotation) and is refused.
 */
export const MAX_CLOCK_SKEW_SECONDS = 60;

export interface MintedToken {
  readonly token: string;
  readonly user: string;
  /** When it expires (ms since the epoch). */
  readonly expiresAt: number;
}

export interface TokenService {
  /** Mints a token for a valid user name (`isUserName`) living `ttlSeconds` (default the service's). */
  mint(user: string, ttlSeconds?: number): Promise<MintedToken>;
  readonly verify: TokenVerifier;
}

export interface TokenServiceDeps {
  /** At least `MIN_SECRET_LENGTH` characters. */
  readonly secret: string;
  /** Lifetime of a minted token when none is asked for. */
  readonly ttlSeconds: number;
  readonly now: () => number;
}

/** True for a lifetime an admin may ask for: whole seconds, 1 to `MAX_TOKEN_TTL_SECONDS`. */
export function isTokenTtl(input: unknown): input is number {
  return Number.isSafeInteger(input) && (input as number) >= 1 && (input as number) <= MAX_TOKEN_TTL_SECONDS;
}

/** Names why jose refused a token without echoing the token back. */
function describe(error: unknown): string {
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'Access token refused: its signature does not match (forged, or minted by another server)';
  if (error instanceof errors.JWTClaimValidationFailed) return `Access token refused: ${error.message}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'Access token refused: only HS256 tokens are accepted';
  if (error instanceof errors.JOSEError) return 'Access token refused: not a valid access token';
  throw error;
}

export function createTokenService(deps: TokenServiceDeps): TokenService {
  if (deps.secret.length < MIN_SECRET_LENGTH) throw new RangeError(`The token secret must be at least ${MIN_SECRET_LENGTH} characters`);
  if (!isTokenTtl(deps.ttlSeconds)) throw new RangeError(`Token lifetime must be 1 to ${MAX_TOKEN_TTL_SECONDS} seconds, got ${deps.ttlSeconds}`);
  const key = new TextEncoder().encode(deps.secret);

  return {
    async mint(user, ttlSeconds = deps.ttlSeconds) {
      if (!isUserName(user)) throw new RangeError(`Not a user name: ${JSON.stringify(user)}`);
      if (!isTokenTtl(ttlSeconds)) throw new RangeError(`Token lifetime must be 1 to ${MAX_TOKEN_TTL_SECONDS} seconds, got ${ttlSeconds}`);
      const issuedAt = Math.floor(deps.now() / 1000);
      const expiresAtSeconds = issuedAt + ttlSeconds;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(user)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAtSeconds)
        .sign(key);
      return { token, user, expiresAt: expiresAtSeconds * 1000 };
    },
    async verify(token): Promise<TokenCheck> {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          requiredClaims: ['sub', 'exp', 'iat'],
          currentDate: new Date(deps.now()),
        });
        if (!isUserName(payload.sub)) return { ok: false, expired: false, reason: 'Access token refused: it names no valid user' };
        // jose checks `iat` only alongside `maxTokenAge`; a token from the future is ours to refuse.
        const ahead = payload.iat! - deps.now() / 1000;
        if (ahead > MAX_CLOCK_SKEW_SECONDS) {
          return {
            ok: false,
            expired: false,
            reason: `Access token refused: issued in the future (${Math.round(ahead)} s ahead of this server's clock, more than the ${MAX_CLOCK_SKEW_SECONDS} s allowed)`,
          };
        }
        return { ok: true, user: payload.sub, expiresAt: payload.exp! * 1000 };
      } catch (error) {
        // jose checks the signature before the claims, so only a genuine token is ever called expired.
        if (error instanceof errors.JWTExpired) return { ok: false, expired: true, reason: 'Access token expired: ask for a new one' };
        return { ok: false, expired: false, reason: describe(error) };
      }
    },
  };
}
