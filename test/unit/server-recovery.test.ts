/**
 * The recovery rule as a table: head and cursor in, outcome and where the events that follow start
 * out. Never a partial replay: either everything after the cursor, or the newest `last` under a
 * name that says why; a cursor ahead of the head is refused.
 */
import { describe, expect, test } from 'vitest';
import type { StreamPosition } from '../../lib/wire/protocol';
import type { TopicHead } from '../../server/event-log/types';
import { planRecovery, type RecoveryPlan } from '../../server/streams/recovery';

const head = (seq: number, firstSeq: number, epoch = 'E'): TopicHead => ({ epoch, seq, firstSeq });
const at = (seq: number, epoch = 'E'): StreamPosition => ({ epoch, seq });

describe('planRecovery', () => {
  test.each<[string, TopicHead, StreamPosition | undefined, number, RecoveryPlan]>([
    ['no cursor, no last: fresh at the head', head(10, 1), undefined, 0, { kind: 'fresh', after: 10 }],
    ['no cursor, last 3: the newest three', head(10, 1), undefined, 3, { kind: 'fresh', after: 7 }],
    ['no cursor, last beyond what is held', head(10, 6), undefined, 50, { kind: 'fresh', after: 5 }],
    ['an empty log', head(0, 1), undefined, 50, { kind: 'fresh', after: 0 }],
    ['a cursor at the head', head(10, 1), at(10), 5, { kind: 'recovered', after: 10 }],
    ['a cursor inside the log', head(10, 1), at(4), 5, { kind: 'recovered', after: 4 }],
    ['a cursor just before the oldest held event', head(10, 6), at(5), 5, { kind: 'recovered', after: 5 }],
    ['a cursor at 0 with the whole log held', head(10, 1), at(0), 5, { kind: 'recovered', after: 0 }],
    ['a cursor at the head of a log trimmed empty', head(10, 11), at(10), 5, { kind: 'recovered', after: 10 }],
    ['a cursor the log was trimmed past', head(10, 7), at(5), 2, { kind: 'trimmed', after: 8 }],
    ['a cursor before a log trimmed empty', head(10, 11), at(3), 5, { kind: 'trimmed', after: 10 }],
    ['another epoch', head(10, 1), at(4, 'OLD'), 3, { kind: 'epoch changed', after: 7 }],
    ['another epoch with a seq beyond the head', head(2, 1), at(99, 'OLD'), 10, { kind: 'epoch changed', after: 0 }],
  ])('%s', (_name, h, since, last, plan) => {
    expect(planRecovery(h, since, last)).toEqual(plan);
  });

  test('a cursor ahead of the head of the same epoch is invalid, naming both', () => {
    const plan = planRecovery(head(10, 1), at(11), 5);
    expect(plan).toEqual({ kind: 'invalid', message: expect.stringMatching(/11.*ahead.*10/) });
  });
});
