/**
 * What one HTTP peer may hold of the `node:http` server: short header and request timeouts (a
 * request whose headers or body trickle in is answered 408 and closed), an idle keep-alive
 * timeout, a cap on open sockets in all (`maxConnections`: further ones are closed as soon as
 * accepted) and a cap per address, so one peer cannot take every file descriptor and starve
 * `/healthz` and new connections. Upgraded WebSockets are the same sockets and count too.
 */
import type { Server, ServerOptions } from 'node:http';
import { addressKey } from './address';
import type { LimitMetrics } from './metrics';
import type { Limits } from './options';

type HttpLimits = Pick<Limits, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>;

/**
 * The `createServer` options for these limits. Node checks the header and request timeouts only
 * every `connectionsCheckingInterval` (30 s by default), which would let a trickling request live
 * far past them: here it is a quarter of the header timeout, between 50 ms and 1 s.
 */
export function httpServerOptions(limits: HttpLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Caps `http`'s sockets, in all and per address (an IPv6 /64), counting what it closes. */
export function capSockets(http: Server, limits: Pick<Limits, 'maxSockets' | 'maxSocketsPerAddress'>, metrics: LimitMetrics): void {
  http.maxConnections = limits.maxSockets;
  http.on('drop', () => metrics.socketRefused('max-sockets'));
  const perAddress = limits.maxSocketsPerAddress;
  if (perAddress === 0) return;
  const open = new Map<string, number>();
  http.on('connection', (socket) => {
    const key = addressKey(socket.remoteAddress);
    const count = open.get(key) ?? 0;
    if (count >= perAddress) {
      metrics.socketRefused('per-address');
      return void socket.destroy();
    }
    open.set(key, count + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
