/**
 * What makes a node one of several on one Redis, beyond its stores: hearing the other nodes'
 * changes to alerts (the store's change channel; after an outage of it, every alert is read
 * again), and taking part in the alert lease, so exactly one node at a time fires and expires
 * alerts and runs the price simulator. The lease's holder changes within its TTL (3 s) plus a
 * renewal period when the node holding it dies or loses Redis.
 */
import type { Logger } from 'pino';
import { isUserName } from '../../lib/wire/ids';
import type { AlertService } from '../alerts/service';
import type { SharedAlertStore } from '../alerts/store-types';
import { subscribeChannel, type Channel } from './channel';
import { openLease, type Lease } from './lease';

export interface ClusterDeps {
  readonly url: string;
  readonly logger: Logger;
  readonly store: SharedAlertStore;
  readonly alerts: Pick<AlertService, 'changed' | 'resync' | 'leading'>;
  /** This node began (`true`) or ended its tenure as the one evaluating alerts. */
  readonly onLeading: (leading: boolean) => void;
}

export interface Cluster {
  /** Whether this node holds the alert lease now. */
  leading(): boolean;
  /** Whether the change channel's connection is up. */
  available(): boolean;
  /** Leaves the lease (another node takes over at once) and stops listening. */
  close(): Promise<void>;
}

export async function joinCluster(deps: ClusterDeps): Promise<Cluster> {
  const { logger } = deps;
  const changes: Channel = await subscribeChannel({
    url: deps.url,
    channel: deps.store.changesChannel,
    role: 'alert-changes',
    logger,
    onMessage(message) {
      // `<revision> <user>`, written by the store's scripts.
      const user = message.slice(message.indexOf(' ') + 1);
      if (isUserName(user)) deps.alerts.changed(user);
      else logger.warn({ message: message.slice(0, 100) }, 'ignored a malformed alert change from Redis');
    },
    onResync: () => deps.alerts.resync(),
  });
  let lease: Lease;
  try {
    lease = await openLease({
      url: deps.url,
      key: deps.store.leaseKey,
      fenceKey: deps.store.leaseFenceKey,
      logger,
      onChange(holding, fence) {
        logger.info({ fence }, holding ? 'this node now evaluates alerts' : 'this node no longer evaluates alerts');
        deps.alerts.leading(holding ? fence : undefined);
        deps.onLeading(holding);
      },
    });
  } catch (error) {
    await changes.close();
    throw error;
  }
  return {
    leading: () => lease.fence() !== undefined,
    available: () => changes.available(),
    async close() {
      await lease.close();
      await changes.close();
    },
  };
}
