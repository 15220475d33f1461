/**
 * The limits an operator sets through the environment: caps, HTTP timeouts and the frame rates.
 * Pure: `server/env.ts` (the only reader of `process.env`) hands the variables in. A rate is
 * written `<per second>/s` with an optional burst after a comma, e.g. `SEND_RATE=10/s,100`.
 */
import type { Result } from '../../lib/errors';
import { err, ok } from '../../lib/errors';
import { isRateLimit, LIMIT_DEFAULTS, resolveLimits, type Limits, type RateLimit } from './options';

type Env = Readonly<Record<string, string | undefined>>;

/** Integer limits and their variables. */
const COUNTS = {
  MAX_CLIENTS: 'maxClients',
  MAX_CLIENTS_PER_USER: 'maxClientsPerUser',
  MAX_PENDING_PER_ADDRESS: 'maxPendingPerAddress',
  MAX_SOCKETS: 'maxSockets',
  MAX_SOCKETS_PER_ADDRESS: 'maxSocketsPerAddress',
  HTTP_HEADERS_TIMEOUT_MS: 'headersTimeoutMs',
  HTTP_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
} as const satisfies Record<string, keyof Limits>;

const RATES = {
  SUBSCRIBE_RATE: 'subscribeRate',
  SEND_RATE: 'sendRate',
  USER_SEND_RATE: 'userSendRate',
} as const satisfies Record<string, keyof Limits>;

/** `10/s` or `10/s,50` (burst 50); the burst defaults to `fallback`'s. */
export function parseRate(text: string, fallback: RateLimit): RateLimit | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*s\s*(?:,\s*(\d+)\s*)?$/.exec(text);
  if (!match) return null;
  const rate = { perSecond: Number(match[1]), burst: match[2] === undefined ? fallback.burst : Number(match[2]) };
  return isRateLimit(rate) ? rate : null;
}

/** The limits set in `env`; unset or empty variables are left out (the defaults apply). */
export function readLimitsEnv(env: Env): Result<Partial<Limits>> {
  const limits: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(COUNTS)) {
    const text = env[name]?.trim();
    if (!text) continue;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
      return err('InvalidEnv', `${name} must be a whole number, got ${JSON.stringify(env[name])}`);
    }
    limits[key] = value;
  }
  for (const [name, key] of Object.entries(RATES)) {
    const text = env[name]?.trim();
    if (!text) continue;
    const rate = parseRate(text, LIMIT_DEFAULTS[key]);
    if (!rate) return err('InvalidEnv', `${name} must be a rate such as 10/s or 10/s,50 (per second, then the burst), got ${JSON.stringify(env[name])}`);
    limits[key] = rate;
  }
  try {
    // Range checks live in one place; here they only name the variables' fault early.
    resolveLimits(limits as Partial<Limits>);
  } catch (error) {
    return err('InvalidEnv', `${error instanceof Error ? error.message : String(error)} (set through the environment)`);
  }
  return ok(limits as Partial<Limits>);
}
