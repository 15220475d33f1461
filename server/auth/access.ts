/**
 * Access tokens as one server runs them: the secret that signs them, the service that mints them
 * and the check `hello` and `refresh` run. Tokens outlive a restart exactly when the store does:
 * a durable store keeps its secret next to it (`dataDir/token-secret`), a memory one makes a new
 * secret per start.
 */
import type { ServerOptions } from '../options';
import { withDevToken, type TokenVerifier } from './checks';
import { loadOrCreateTokenSecret, randomSecret } from './token-secret';
import { createTokenService, type MintedToken } from './tokens';

export interface Access {
  /** Mints an access token, as `POST /api/tokens` does. */
  mint(user: string, ttlSeconds?: number): Promise<MintedToken>;
  /** The check of `hello` and `refresh`: `verifyToken` if given, else the JWT check (plus `devToken`). */
  readonly verify: TokenVerifier;
}

export type AccessOptions = Pick<ServerOptions, 'tokenSecret' | 'tokenTtlSeconds' | 'devToken' | 'verifyToken' | 'dataDir' | 'now'>;

/** `durable`: the server keeps its store on disk, so the secret is kept beside it in `dataDir`. */
export function createAccess(options: AccessOptions, durable: boolean): Access {
  const secret = options.tokenSecret ?? (durable ? loadOrCreateTokenSecret(options.dataDir) : randomSecret());
  const tokens = createTokenService({ secret, ttlSeconds: options.tokenTtlSeconds, now: options.now });
  return {
    mint: (user, ttlSeconds) => tokens.mint(user, ttlSeconds),
    verify: options.verifyToken ?? withDevToken(tokens.verify, options.devToken),
  };
}
