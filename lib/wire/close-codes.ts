/**
 * The one table of WebSocket close codes: what each means, whether the hub reconnects after it, and
 * whether it waits longer first (the server is busy or full).
 * 4000-4999 are private-use codes (RFC 6455 §7.4.2); standard codes are listed where the hub must
 * decide on them. Codes not in the table reconnect: a transient fault is the safer guess.
 */

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  abnormal: 1006,
  policyViolation: 1008,
  tooLarge: 1009,
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  badFrame: 4000,
  unsupportedVersion: 4001,
  handshakeTimeout: 4002,
  originForbidden: 4003,
  pingTimeout: 4008,
  unauthorized: 4010,
  tokenExpired: 4011,
  tooManyConnections: 4013,
  rateLimited: 4029,
  clientClosing: 4100,
} as const;

export type CloseCodeName = keyof typeof CloseCode;

interface CloseRule {
  readonly reason: string;
  /** Whether the hub schedules a reconnect (with backoff) after this code. */
  readonly reconnect: boolean;
  /**
   * The server is over capacity: the hub waits its longer "busy" backoff, so a crowd of hubs turned
   * away together does not come back at once. Default false.
   */
  readonly busy?: boolean;
}

const table: Readonly<Record<number, CloseRule>> = {
  [CloseCode.normal]: { reason: 'closed by server', reconnect: true },
  [CloseCode.goingAway]: { reason: 'server going away', reconnect: true },
  [CloseCode.protocolError]: { reason: 'protocol error', reconnect: true },
  [CloseCode.abnormal]: { reason: 'connection lost', reconnect: true },
  [CloseCode.policyViolation]: { reason: 'policy violation', reconnect: true },
  [CloseCode.tooLarge]: { reason: 'frame too large', reconnect: true },
  [CloseCode.internalError]: { reason: 'server error', reconnect: true },
  [CloseCode.serviceRestart]: { reason: 'server restarting', reconnect: true },
  // Also what a server-wide connection cap answers, and a client too slow to take its stream.
  [CloseCode.tryAgainLater]: { reason: 'server busy', reconnect: true, busy: true },
  [CloseCode.badFrame]: { reason: 'bad frame', reconnect: true },
  // A server that speaks another protocol version will not change by retrying.
  [CloseCode.unsupportedVersion]: { reason: 'unsupported protocol version', reconnect: false },
  [CloseCode.handshakeTimeout]: { reason: 'handshake timeout', reconnect: true },
  [CloseCode.originForbidden]: { reason: 'origin not allowed', reconnect: false },
  [CloseCode.pingTimeout]: { reason: 'ping timeout', reconnect: true },
  // A refused token stays refused until the user saves a new one in the options.
  [CloseCode.unauthorized]: { reason: 'access token refused', reconnect: false },
  [CloseCode.tokenExpired]: { reason: 'access token expired', reconnect: false },
  // Per-user twin of 1013: the user already holds the server's limit of connections. Back off as
  // from 1013; a later try gets in once one of them closes.
  [CloseCode.tooManyConnections]: { reason: 'too many connections for this user', reconnect: true, busy: true },
  // Kept sending over the rate limit (mirrors HTTP 429). Reconnect only after a backoff as from
  // 1013: reconnecting at once would be the same flood again.
  [CloseCode.rateLimited]: { reason: 'rate limited', reconnect: true, busy: true },
  [CloseCode.clientClosing]: { reason: 'client closing', reconnect: false },
};

/** What a close code means and whether to reconnect after it. */
export function closeRule(code: number): CloseRule {
  return table[code] ?? { reason: `closed (${code})`, reconnect: true };
}
