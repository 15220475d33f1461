/**
 * The environment variables of what one connection or one user may make the server keep: the
 * send backlog a connection may build (`MAX_BACKLOG_BYTES`) and the idempotency records of client
 * messages (`CLIENT_MESSAGE_IDS_PER_USER`, `CLIENT_MESSAGE_RETENTION_DAYS`). Unset or empty ones
 * are left to `DEFAULTS`; `resolveOptions` checks the ranges. Read by `env.ts`.
 */
import type { Result } from '../lib/errors';
import { err, ok } from '../lib/errors';
import type { ServerInput } from './options';

export type BoundsInput = Pick<ServerInput, 'maxBacklogBytes' | 'maxClientMessageIdsPerUser' | 'clientMessageRetentionMs'>;

export const DAY_MS = 24 * 3600 * 1000;

/** A positive number from an environment variable (a whole one if `integer`), `fallback` when unset or empty, `null` when invalid. */
export function positive<F extends number | undefined>(value: string | undefined, fallback: F, integer: boolean): number | F | null {
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || (integer && !Number.isSafeInteger(parsed))) return null;
  return parsed;
}

export function readBoundsEnv(env: Readonly<Record<string, string | undefined>>): Result<BoundsInput> {
  const backlog = positive(env.MAX_BACKLOG_BYTES, undefined, true);
  if (backlog === null) return err('InvalidEnv', `MAX_BACKLOG_BYTES must be a whole number of bytes, got ${JSON.stringify(env.MAX_BACKLOG_BYTES)}`);
  const perUser = positive(env.CLIENT_MESSAGE_IDS_PER_USER, undefined, true);
  if (perUser === null) {
    return err('InvalidEnv', `CLIENT_MESSAGE_IDS_PER_USER must be a positive whole number, got ${JSON.stringify(env.CLIENT_MESSAGE_IDS_PER_USER)}`);
  }
  const days = positive(env.CLIENT_MESSAGE_RETENTION_DAYS, undefined, false);
  if (days === null) {
    return err('InvalidEnv', `CLIENT_MESSAGE_RETENTION_DAYS must be a positive number of days, got ${JSON.stringify(env.CLIENT_MESSAGE_RETENTION_DAYS)}`);
  }
  return ok({
    ...(backlog === undefined ? {} : { maxBacklogBytes: backlog }),
    ...(perUser === undefined ? {} : { maxClientMessageIdsPerUser: perUser }),
    ...(days === undefined ? {} : { clientMessageRetentionMs: Math.round(days * DAY_MS) }),
  });
}
