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

const DAY_MS = 24 * 3600 * 1000;

/** A positive number from `env[name]` (a whole one if `integer`), `undefined` when unset, `null` when invalid. */
function positive(env: Readonly<Record<string, string | undefined>>, name: string, integer: boolean): number | undefined | null {
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || (integer && !Number.isSafeInteger(parsed))) return null;
  return parsed;
}

export function readBoundsEnv(env: Readonly<Record<string, string | undefined>>): Result<BoundsInput> {
  const backlog = positive(env, 'MAX_BACKLOG_BYTES', true);
  if (backlog === null) return err('InvalidEnv', `MAX_BACKLOG_BYTES must be a whole number of bytes, got ${JSON.stringify(env.MAX_BACKLOG_BYTES)}`);
  const perUser = positive(env, 'CLIENT_MESSAGE_IDS_PER_USER', true);
  if (perUser === null) {
    return err('InvalidEnv', `CLIENT_MESSAGE_IDS_PER_USER must be a positive whole number, got ${JSON.stringify(env.CLIENT_MESSAGE_IDS_PER_USER)}`);
  }
  const days = positive(env, 'CLIENT_MESSAGE_RETENTION_DAYS', false);
  if (days === null) {
    return err('InvalidEnv', `CLIENT_MESSAGE_RETENTION_DAYS must be a positive number of days, got ${JSON.stringify(env.CLIENT_MESSAGE_RETENTION_DAYS)}`);
  }
  return ok({
    ...(backlog === undefined ? {} : { maxBacklogBytes: backlog }),
    ...(perUser === undefined ? {} : { maxClientMessageIdsPerUser: perUser }),
    ...(days === undefined ? {} : { clientMessageRetentionMs: Math.round(days * DAY_MS) }),
  });
}
