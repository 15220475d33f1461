/**
 * Reads the server's environment variables (the black-box interface in the README) into options.
 * Pure: takes the environment as an argument and says what is wrong instead of exiting.
 */
import { randomBytes } from 'node:crypto';
import type { Result } from '../lib/errors';
import { err, ok } from '../lib/errors';
import type { ServerOptions } from './options';

export interface EnvConfig {
  readonly options: Readonly<Partial<ServerOptions>> & { readonly adminToken: string };
  /** Where the server keeps its files (created by `main.ts`). */
  readonly dataDir: string;
  /** True when no `ADMIN_TOKEN` was set and a random one was made (print it). */
  readonly generatedAdminToken: boolean;
}

const DEFAULT_SIMULATOR_RATE = 5;

export function readEnv(env: Readonly<Record<string, string | undefined>>): Result<EnvConfig> {
  const port = Number(env.PORT ?? '8787');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) return err('InvalidEnv', `PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  const rate = Number(env.SIMULATOR_RATE ?? DEFAULT_SIMULATOR_RATE);
  if (!(Number.isFinite(rate) && rate > 0 && rate <= 10_000)) {
    return err('InvalidEnv', `SIMULATOR_RATE must be ticks per second above 0 and at most 10000, got ${JSON.stringify(env.SIMULATOR_RATE)}`);
  }
  const givenAdmin = env.ADMIN_TOKEN?.trim();
  if (givenAdmin !== undefined && givenAdmin !== '' && givenAdmin.length < 8) {
    return err('InvalidEnv', 'ADMIN_TOKEN must be at least 8 characters');
  }
  const adminToken = givenAdmin || randomBytes(24).toString('base64url');
  const devToken = env.DEV_TOKEN?.trim();
  const simulatorOff = ['off', 'false', '0', 'no'].includes((env.SIMULATOR ?? '').trim().toLowerCase());
  const allowedOrigins = (env.ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  return ok({
    options: {
      port,
      host: env.HOST?.trim() || '127.0.0.1',
      adminToken,
      ...(devToken ? { devToken } : {}),
      allowedOrigins,
      allowExtensionOrigins: env.NODE_ENV !== 'production',
      simulator: simulatorOff ? 'off' : { ticksPerSecond: rate },
    },
    dataDir: env.DATA_DIR?.trim() || './data',
    generatedAdminToken: !givenAdmin,
  });
}
