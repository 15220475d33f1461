/**
 * The recovery rule of a `stream` subscription as a pure decision: given the topic's head and the
 * client's cursor, which events follow `subscribed` and what to call the outcome. Either the whole
 * gap after the cursor (`recovered`), or, when that is impossible, the newest `last` events under a
 * name that says why (`trimmed`, `epoch changed`): never a silent partial replay. A cursor ahead of
 * the head cannot come from this log's life and is refused (`invalid`), changing nothing.
 */
import type { Recovery, StreamPosition } from '../../lib/wire/protocol';
import type { TopicHead } from '../event-log/types';

export type RecoveryPlan =
  /** Send every held event with `seq > after` up to the head; `after` is the client's cursor or where the newest `last` begin. */
  | { readonly kind: Recovery; readonly after: number }
  | { readonly kind: 'invalid'; readonly message: string };

export function planRecovery(head: TopicHead, since: StreamPosition | undefined, last: number): RecoveryPlan {
  // The newest `last` events that are still held (there may be fewer).
  const newest = Math.max(head.seq - last, head.firstSeq - 1);
  if (since === undefined) return { kind: 'fresh', after: newest };
  if (since.epoch !== head.epoch) return { kind: 'epoch changed', after: newest };
  if (since.seq > head.seq) {
    return { kind: 'invalid', message: `Cursor seq ${since.seq} is ahead of the log, whose newest event is ${head.seq}` };
  }
  // Events after since.seq must all still be held: the oldest held is at most since.seq + 1.
  if (since.seq < head.firstSeq - 1) return { kind: 'trimmed', after: newest };
  return { kind: 'recovered', after: since.seq };
}
