/**
 * Where the token signing secret comes from: `TOKEN_SECRET` when set, otherwise a random one made
 * on first start and kept in `DATA_DIR/token-secret` (mode 0600, readable by the server's user
 * only), so tokens handed out stay valid across restarts. A store that keeps nothing (memory) gets
 * a secret that lives as long as the process, which matches what it keeps.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_SECRET_LENGTH } from './tokens';

export const TOKEN_SECRET_FILE = 'token-secret';

export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Reads `dataDir/token-secret`, creating it (0600) with a random secret if missing. */
export function loadOrCreateTokenSecret(dataDir: string): string {
  const path = join(dataDir, TOKEN_SECRET_FILE);
  // Only the server's user may list it: the secret and the SQLite files live here.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' fails if the file exists, so two servers starting at once cannot overwrite each other's.
    writeFileSync(path, `${randomSecret()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // A file put there by hand may be wider; a secret readable by others lets them forge any token.
  chmodSync(path, 0o600);
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`${path} holds a secret shorter than ${MIN_SECRET_LENGTH} characters: delete it to make a new one`);
  }
  return secret;
}
