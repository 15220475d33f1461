/**
 * The set of live clients: what the connections gauge counts, what the heartbeat sweep visits
 * every `heartbeatMs`, and what shutdown closes with 1001.
 */
import { CloseCode } from '../../lib/wire/close-codes';
import type { Client, ClientOwner } from './client';

/** Also each client's owner: a closed client tells it, with no callback kept per client. */
export interface LiveClients extends ClientOwner {
  add(client: Client): void;
  /** Clients whose socket is OPEN right now. */
  openCount(): number;
  /** Closes every client with 1001 and settles when all are closed (stragglers are cut off after the grace). */
  closeAll(reason: string): Promise<void>;
  stop(): void;
}

export function createLiveClients(deps: { heartbeatMs: number }): LiveClients {
  const live = new Set<Client>();
  // One sweep for all clients rather than a timer each: the sweep cost is one pass per interval.
  const sweep = setInterval(() => {
    for (const client of live) client.heartbeat();
  }, deps.heartbeatMs);
  sweep.unref();

  return {
    add(client) {
      live.add(client);
    },
    released(client) {
      live.delete(client);
    },
    openCount() {
      let open = 0;
      for (const client of live) if (client.isOpen()) open += 1;
      return open;
    },
    async closeAll(reason) {
      const all = [...live];
      for (const client of all) client.drop(CloseCode.goingAway, reason);
      await Promise.all(all.map((client) => client.closed));
    },
    stop() {
      clearInterval(sweep);
    },
  };
}
