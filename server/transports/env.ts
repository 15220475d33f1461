/**
 * The environment variables of the HTTP transports (README, "HTTP transports"): how long a session
 * nobody reads is kept, the stream's heartbeat interval, how long a poll waits, and the largest
 * POST of frames. Pure: `server/env.ts` (the only reader of `process.env`) hands the variables in.
 * Unset or empty ones are left to `DEFAULTS`; a value outside the range `resolveOptions` allows is
 * refused here, naming the variable and the range.
 */
import type { Result } from '../../lib/errors';
import { err, ok } from '../../lib/errors';
import { OPTION_RANGES, type ServerInput } from '../options';

type TransportKey = 'sessionIdleMs' | 'streamHeartbeatMs' | 'pollTimeoutMs' | 'maxPostBytes';
type TransportInput = Pick<ServerInput, TransportKey>;

const VARIABLES = {
  SESSION_IDLE_MS: 'sessionIdleMs',
  STREAM_HEARTBEAT_MS: 'streamHeartbeatMs',
  POLL_TIMEOUT_MS: 'pollTimeoutMs',
  MAX_POST_BYTES: 'maxPostBytes',
} as const satisfies Record<string, TransportKey>;

export function readTransportEnv(env: Readonly<Record<string, string | undefined>>): Result<TransportInput> {
  const input: Partial<Record<TransportKey, number>> = {};
  for (const [name, key] of Object.entries(VARIABLES)) {
    const text = env[name]?.trim();
    if (!text) continue;
    const [min, max] = OPTION_RANGES[key];
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      return err('InvalidEnv', `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(env[name])}`);
    }
    input[key] = value;
  }
  return ok(input);
}
