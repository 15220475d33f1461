/**
 * The limits' own series, on the server's registry: frames refused by a rate limit (by frame
 * type) and TCP sockets closed as soon as they were accepted (by cap). Connections the limits close
 * are counted with the others in `switchboard_connections_refused_total`.
 */
import { Counter, type Registry } from 'prom-client';
import type { ClientFrame } from '../../lib/wire/protocol';

/** Which cap closed a socket at once: the server's (`max-sockets`) or its address's (`per-address`). */
export type SocketRefusal = 'max-sockets' | 'per-address';

export interface LimitMetrics {
  frameRateLimited(type: ClientFrame['t']): void;
  socketRefused(reason: SocketRefusal): void;
}

const LIMITED_TYPES: readonly ClientFrame['t'][] = ['subscribe', 'unsubscribe', 'send', 'ping', 'pong', 'refresh'];
const SOCKET_REFUSALS: readonly SocketRefusal[] = ['max-sockets', 'per-address'];

export function createLimitMetrics(registry: Registry): LimitMetrics {
  const limited = new Counter({
    name: 'switchboard_frames_rate_limited_total',
    help: 'Frames refused by a rate limit (answered rate-limited, or a ping left unanswered), by frame type',
    labelNames: ['type'],
    registers: [registry],
  });
  const sockets = new Counter({
    name: 'switchboard_sockets_refused_total',
    help: 'TCP sockets closed as soon as they were accepted, by cap (max-sockets: the server; per-address: one address)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const type of LIMITED_TYPES) limited.labels(type).inc(0);
  for (const reason of SOCKET_REFUSALS) sockets.labels(reason).inc(0);
  return {
    frameRateLimited: (type) => limited.labels(type).inc(),
    socketRefused: (reason) => sockets.labels(reason).inc(),
  };
}
