/**
 * Reads the server's environment variables (the black-box interface in the README) into options:
 * the only module that reads `process.env`. Unset variables fall back to `DEFAULTS` in
 * `options.ts`. Pure given its argument (tests pass one), and says what is wrong instead of exiting.
 */
import pino, { type LevelWithSilent } from 'pino';
import type { Result } from '../lib/errors';
import { err, ok } from '../lib/errors';
import { MAX_TOKEN_TTL_SECONDS, MIN_SECRET_LENGTH } from './auth/tokens';
import { DAY_MS, positive, readBoundsEnv } from './env-bounds';
import { DEFAULT_RETENTION } from './event-log/types';
import { readLimitsEnv } from './limits/env';
import { DEFAULTS, MAX_SIMULATOR_RATE, randomAdminToken, type ServerInput } from './options';
import { readTransportEnv } from './transports/env';

export interface EnvConfig {
  readonly options: ServerInput & { readonly adminToken: string; readonly dataDir: string };
  /** Where the server keeps its files (created by `main.ts`). */
  readonly dataDir: string;
  /** True when no `ADMIN_TOKEN` was set and a random one was made (print it). */
  readonly generatedAdminToken: boolean;
  /** `NODE_ENV=production`: no ready-made access token is printed, extension origins must be listed. */
  readonly production: boolean;
}

/** The levels `LOG_LEVEL` may name: pino's, and `silent`. */
const LOG_LEVELS: readonly string[] = [...Object.keys(pino.levels.values), 'silent'];
const isLogLevel = (level: string): level is LevelWithSilent => LOG_LEVELS.includes(level);

/** `env` defaults to the process's environment. */
export function readEnv(env: Readonly<Record<string, string | undefined>> = process.env): Result<EnvConfig> {
  const port = Number(env.PORT ?? DEFAULTS.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) return err('InvalidEnv', `PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  const rate = Number(env.SIMULATOR_RATE ?? DEFAULTS.simulator.ticksPerSecond);
  if (!(Number.isFinite(rate) && rate > 0 && rate <= MAX_SIMULATOR_RATE)) {
    return err('InvalidEnv', `SIMULATOR_RATE must be ticks per second above 0 and at most ${MAX_SIMULATOR_RATE}, got ${JSON.stringify(env.SIMULATOR_RATE)}`);
  }
  const givenAdmin = env.ADMIN_TOKEN?.trim();
  if (givenAdmin !== undefined && givenAdmin !== '' && givenAdmin.length < 8) {
    return err('InvalidEnv', 'ADMIN_TOKEN must be at least 8 characters');
  }
  const adminToken = givenAdmin || randomAdminToken();
  const redisGiven = (env.REDIS_URL?.trim() ?? '') !== '';
  // REDIS_URL keeps everything in Redis; STORE may say so too, but nothing else.
  const store = (env.STORE?.trim() || (redisGiven ? 'redis' : DEFAULTS.store)).toLowerCase();
  if (store !== 'sqlite' && store !== 'memory' && store !== 'redis') return err('InvalidEnv', `STORE must be sqlite or memory (or redis, with REDIS_URL), got ${JSON.stringify(env.STORE)}`);
  if ((store === 'redis') !== redisGiven) {
    return err('InvalidEnv', redisGiven ? `REDIS_URL keeps everything in Redis: unset STORE (it says ${JSON.stringify(env.STORE)})` : 'STORE=redis needs REDIS_URL');
  }
  const tokenSecret = env.TOKEN_SECRET?.trim();
  if (tokenSecret && tokenSecret.length < MIN_SECRET_LENGTH) {
    return err('InvalidEnv', `TOKEN_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  const tokenTtlSeconds = positive(env.TOKEN_TTL_SECONDS, DEFAULTS.tokenTtlSeconds, true);
  if (tokenTtlSeconds === null || tokenTtlSeconds > MAX_TOKEN_TTL_SECONDS) {
    return err('InvalidEnv', `TOKEN_TTL_SECONDS must be whole seconds from 1 to ${MAX_TOKEN_TTL_SECONDS}, got ${JSON.stringify(env.TOKEN_TTL_SECONDS)}`);
  }
  const maxEvents = positive(env.RETENTION_EVENTS, DEFAULT_RETENTION.maxEvents, true);
  if (maxEvents === null) return err('InvalidEnv', `RETENTION_EVENTS must be a positive integer, got ${JSON.stringify(env.RETENTION_EVENTS)}`);
  const days = positive(env.RETENTION_DAYS, DEFAULT_RETENTION.maxAgeMs / DAY_MS, false);
  if (days === null) return err('InvalidEnv', `RETENTION_DAYS must be a positive number of days, got ${JSON.stringify(env.RETENTION_DAYS)}`);
  const flushMs = positive(env.FLUSH_MS, undefined, true);
  if (flushMs === null || (flushMs ?? 0) > 10_000) return err('InvalidEnv', `FLUSH_MS must be whole ms from 1 to 10000, got ${JSON.stringify(env.FLUSH_MS)}`);
  const logLevel = env.LOG_LEVEL?.trim() || DEFAULTS.logLevel;
  if (!isLogLevel(logLevel)) return err('InvalidEnv', `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`);
  const simulatorOff = ['off', 'false', '0', 'no'].includes((env.SIMULATOR ?? '').trim().toLowerCase());
  const allowedOrigins = (env.ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  const bounds = readBoundsEnv(env);
  if (!bounds.ok) return bounds;
  const transports = readTransportEnv(env);
  if (!transports.ok) return transports;
  const production = env.NODE_ENV === 'production';
  const dataDir = env.DATA_DIR?.trim() || DEFAULTS.dataDir;
  const dashboardDir = env.DASHBOARD_DIR?.trim();
  const limits = readLimitsEnv(env);
  if (!limits.ok) return limits;
  const redisUrl = env.REDIS_URL?.trim() || undefined;
  if (redisUrl !== undefined && !isRedisUrl(redisUrl)) {
    return err('InvalidEnv', `REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379, got ${JSON.stringify(redisUrl.slice(0, 100))}`);
  }
  // Every node must verify every other node's tokens.
  if (redisUrl !== undefined && !tokenSecret) {
    return err('InvalidEnv', 'REDIS_URL needs TOKEN_SECRET too: the same secret on every node, so a token minted on one node works on all');
  }
  return ok({
    options: {
      port,
      host: env.HOST?.trim() || DEFAULTS.host,
      adminToken,
      store,
      dataDir,
      ...(redisUrl ? { redisUrl } : {}),
      retention: { maxEvents, maxAgeMs: Math.round(days * DAY_MS) },
      ...(tokenSecret ? { tokenSecret } : {}),
      tokenTtlSeconds,
      allowedOrigins,
      allowExtensionOrigins: !production,
      ...(dashboardDir ? { dashboardDir } : {}),
      simulator: simulatorOff ? 'off' : { ticksPerSecond: rate },
      ...(flushMs === undefined ? {} : { flushMs }),
      limits: limits.value,
      logLevel,
      ...bounds.value,
      ...transports.value,
    },
    dataDir,
    generatedAdminToken: !givenAdmin,
    production,
  });
}

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}
