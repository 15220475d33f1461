/**
 * Applying one alert client message, the part of the alert service that answers a `send`: a
 * repeated id is answered from the record; otherwise the message is decided against the alerts
 * held (`messages.ts`), refused if the user's list would no longer fit one frame, and recorded
 * with its effect in one store transaction before the engine changes and `alerts:<user>` is
 * republished. With several nodes (`shared`) the decision is made against the user's alerts as the
 * store holds them now and applied only at that revision; when another node changed them in
 * between it is decided again, and when the same id was applied on another node first, its record
 * answers. The caller runs one message at a time.
 */
import type { AlertMessageKind, AlertsState } from '../../lib/wire/alerts';
import type { MessageId } from '../../lib/wire/ids';
import { newestFirst } from './conditions';
import { decideMessage, refuse } from './messages';
import { AlertIdTakenError, DuplicateMessageError, StaleRevisionError } from './store-errors';
import type { NotificationData } from '../../lib/wire/notifications';
import type { AckOutcome, AlertStore, SharedAlertStore } from './store-types';
import type { AlertsTopic } from './topic';
import type { AlertEngine } from './types';

/** How a client message went: applied now, answered from the record, or refused as invalid. */
export type MessageOutcome = 'applied' | 'duplicate' | 'refused';

export interface SharedAlerts {
  /** The same store as `store`, with what sharing needs. */
  readonly store: SharedAlertStore;
  /** Appends a fired alert's notification unless one with `key` was appended before. */
  readonly publishOnce: (topic: string, data: NotificationData, key: string) => Promise<unknown>;
}

/** How often a message is decided again because another node changed the user's alerts meanwhile. */
const MAX_DECISIONS = 8;

export interface ApplyMessageDeps {
  readonly store: AlertStore;
  readonly shared: SharedAlerts | undefined;
  readonly engine: AlertEngine;
  readonly topic: Pick<AlertsTopic, 'publish'>;
  /** True when a user's alerts still fit one `state` frame. */
  readonly fits: (state: AlertsState) => boolean;
  readonly now: () => number;
  readonly appliedPerUser: number;
  /** Shared: makes this node's copy of the user's alerts the store's; resolves with their revision. */
  readonly refreshUser: (user: string) => Promise<number>;
}

export async function applyMessage(
  deps: ApplyMessageDeps,
  user: string,
  messageId: MessageId,
  kind: AlertMessageKind,
  body: unknown,
): Promise<{ readonly ack: AckOutcome; readonly outcome: MessageOutcome }> {
  const { store, shared, engine } = deps;
  const recorded = await store.findAck(user, messageId);
  if (recorded) return { ack: recorded, outcome: 'duplicate' };
  for (let decisions = 1; ; decisions++) {
    const revision = shared ? await deps.refreshUser(user) : undefined;
    const now = deps.now();
    let decision = decideMessage(kind, body, { user, now, engine });
    const { effect } = decision;
    if (effect?.type === 'put') {
      const after = [...engine.list(user).filter((a) => a.id !== effect.held.alert.id), effect.held.alert].sort(newestFirst);
      if (!deps.fits({ alerts: after })) decision = refuse('Too many alerts to send in one update: delete some, or shorten their notes');
    }
    // A refusal changes nothing, so there is nothing a repeat could apply twice: not recorded.
    if (!decision.ack.ok) return { ack: decision.ack, outcome: 'refused' };
    const message = { user, messageId, at: now, ack: decision.ack, ...(decision.effect ? { effect: decision.effect } : {}) };
    try {
      if (shared) await shared.store.apply(message, { perUser: deps.appliedPerUser }, { ifRevision: revision! });
      else await store.apply(message, { perUser: deps.appliedPerUser });
    } catch (error) {
      if (error instanceof StaleRevisionError && decisions < MAX_DECISIONS) continue;
      if (error instanceof DuplicateMessageError) {
        // The same id reached another node too, and was applied there first.
        const ack = await store.findAck(user, messageId);
        if (ack) return { ack, outcome: 'duplicate' };
      }
      if (error instanceof AlertIdTakenError) return { ack: refuse(`Alert ${error.alertId} already exists`).ack, outcome: 'refused' };
      throw error;
    }
    if (decision.effect?.type === 'put') engine.put(decision.effect.held);
    if (decision.effect?.type === 'delete') engine.remove(decision.effect.alertId);
    if (decision.effect) deps.topic.publish(user);
    return { ack: decision.ack, outcome: 'applied' };
  }
}
