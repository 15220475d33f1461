/**
 * Which outbox messages must reach the server after which: the one rule that lets the outbox keep
 * many messages in flight without a later message overtaking one it depends on. The server applies
 * one connection's messages in the order they arrive, so order can only break where an earlier
 * message is answered "not now" (rate-limited, a failure of the server's, no ack in time, a cut)
 * and is sent again after later ones were applied. A message is therefore never sent while an
 * earlier message it depends on is still unanswered; messages that do not depend on each other
 * commute, and may be applied around such a retry.
 */
import type { ClientMessage } from './store';

/**
 * Whether `later` must not be sent while `earlier` (queued before it) is unanswered:
 * - every message about the same alert (`alertId`): a pause after its create, a delete after a
 *   pause; applied out of order, the create would refuse the pause, or two pauses would leave the
 *   wrong one in force;
 * - a create or an update after any delete: the delete may be what frees the room the create
 *   needs (at most `MAX_ALERTS_PER_USER` alerts) or the bytes the update's note needs (the whole
 *   list travels as one frame).
 * Once `earlier` is answered, acknowledged or refused, `later` goes out and the server decides it
 * against the alerts as they are then: a pause of an alert whose create was refused is refused as
 * an unknown alert, a pause after a refused update still pauses.
 */
export function mustFollow(later: ClientMessage, earlier: ClientMessage): boolean {
  if (later.body.alertId === earlier.body.alertId) return true;
  return earlier.kind === 'alert.delete' && (later.kind === 'alert.create' || later.kind === 'alert.update');
}
