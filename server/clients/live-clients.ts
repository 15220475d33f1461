/**
 * The set of live connections: what the connections gauge counts, what the heartbeat sweep visits
 * every `heartbeatMs`, and what shutdown closes with 1001.
 */
import { CloseCode } from '../../lib/wire/close-codes';
import type { Connection } from './client';

export interface ConnectionRegistry {
  add(connection: Connection): void;
  /** Connections whose socket is OPEN right now. */
  openCount(): number;
  /** Closes every connection with 1001 and settles when all are closed (stragglers are cut off after the grace). */
  closeAll(reason: string): Promise<void>;
  stop(): void;
}

export function createConnectionRegistry(deps: { heartbeatMs: number }): ConnectionRegistry {
  const live = new Set<Connection>();
  // One sweep for all connections rather than a timer each: the sweep cost is one pass per interval.
  const sweep = setInterval(() => {
    for (const connection of live) connection.heartbeat();
  }, deps.heartbeatMs);
  sweep.unref();

  return {
    add(connection) {
      live.add(connection);
      void connection.closed.then(() => live.delete(connection));
    },
    openCount() {
      let open = 0;
      for (const connection of live) if (connection.isOpen()) open += 1;
      return open;
    },
    async closeAll(reason) {
      const all = [...live];
      for (const connection of all) connection.drop(CloseCode.goingAway, reason);
      await Promise.all(all.map((connection) => connection.closed));
    },
    stop() {
      clearInterval(sweep);
    },
  };
}
