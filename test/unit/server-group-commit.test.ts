/**
 * Group commit (the queue the SQLite event log shares fsyncs through), with a commit step the test
 * holds open and a scheduler it runs by hand: nobody is answered before their group's commit
 * finished; what is submitted while a commit runs forms the next group, in submission order; a
 * group whose commit fails rejects every submission in it and the next group goes ahead; groups are
 * bounded; `drained` waits for everything submitted.
 */
import { describe, expect, test } from 'vitest';
import { createGroupCommitter, type GroupCommitter } from '../../server/event-log/group-commit';
import { nextTurn } from '../support/poll';

/** A commit step the test finishes by hand, and a scheduler whose flushes it runs by hand. */
function harness(options: { maxGroup?: number; fail?: (items: readonly string[]) => boolean } = {}) {
  const log: string[] = [];
  const groups: string[][] = [];
  const open: Array<() => void> = [];
  const scheduled: Array<() => void> = [];
  const committer: GroupCommitter<string, string> = createGroupCommitter<string, string>({
    maxGroup: options.maxGroup,
    schedule: (flush) => void scheduled.push(flush),
    async commit(items) {
      groups.push([...items]);
      log.push(`begin ${items.join(',')}`);
      await new Promise<void>((resolve) => open.push(resolve));
      if (options.fail?.(items)) {
        log.push(`failed ${items.join(',')}`);
        throw new Error(`group ${items.join(',')} failed`);
      }
      log.push(`committed ${items.join(',')}`);
      return items.map((item) => `${item}!`);
    },
  });
  const submit = (item: string) => {
    const answer = committer.submit(item);
    answer.then(
      (result) => void log.push(`ack ${result}`),
      (error: Error) => void log.push(`rejected ${item}: ${error.message}`),
    );
    return answer;
  };
  return {
    committer,
    log,
    groups,
    submit,
    /** Runs the flush the committer asked for (there must be exactly one). */
    flush() {
      expect(scheduled).toHaveLength(1);
      scheduled.shift()!();
    },
    /** Lets the running commit finish. */
    finish() {
      expect(open).toHaveLength(1);
      open.shift()!();
    },
    scheduledCount: () => scheduled.length,
  };
}

describe('group commit', () => {
  test('nobody is answered before the commit of their group finished', async () => {
    const h = harness();
    const answers = ['a', 'b', 'c'].map(h.submit);
    h.flush();
    // A turn of the event loop: an answer given early would have been logged by now.
    await nextTurn();
    expect(h.log).toEqual(['begin a,b,c']);
    h.finish();
    expect(await Promise.all(answers)).toEqual(['a!', 'b!', 'c!']);
    expect(h.log).toEqual(['begin a,b,c', 'committed a,b,c', 'ack a!', 'ack b!', 'ack c!']);
  });

  test('what is submitted while a commit runs is the next group, in submission order', async () => {
    const h = harness();
    const first = ['a', 'b'].map(h.submit);
    h.flush();
    await nextTurn();
    const second = ['c', 'd', 'e'].map(h.submit);
    // One commit at a time: the next group is not even scheduled while this one runs.
    expect(h.scheduledCount()).toBe(0);
    h.finish();
    await Promise.all(first);
    h.flush();
    await nextTurn();
    h.finish();
    expect(await Promise.all(second)).toEqual(['c!', 'd!', 'e!']);
    expect(h.groups).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
  });

  test('a failed group rejects every submission in it; the next group goes ahead', async () => {
    const h = harness({ fail: (items) => items.includes('boom') });
    const doomed = ['a', 'boom', 'c'].map(h.submit);
    h.flush();
    await nextTurn();
    const after = h.submit('d');
    h.finish();
    const settled = await Promise.allSettled(doomed);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(h.log.filter((line) => line.startsWith('ack'))).toEqual([]);
    h.flush();
    await nextTurn();
    h.finish();
    expect(await after).toBe('d!');
    expect(h.groups).toEqual([['a', 'boom', 'c'], ['d']]);
  });

  test('a synchronous commit that throws fails its group the same way', async () => {
    let calls = 0;
    const committer = createGroupCommitter<number, number>({
      commit(items) {
        calls += 1;
        if (calls === 1) throw new Error('disk full');
        return items.map((n) => n * 10);
      },
    });
    const doomed = Promise.allSettled([1, 2].map((n) => committer.submit(n)));
    expect((await doomed).map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(await committer.submit(3)).toBe(30);
  });

  test('a group holds at most maxGroup submissions; the rest follow in order', async () => {
    const h = harness({ maxGroup: 2 });
    const answers = ['a', 'b', 'c', 'd', 'e'].map(h.submit);
    for (let group = 0; group < 3; group++) {
      h.flush();
      await nextTurn();
      h.finish();
      await nextTurn();
    }
    expect(await Promise.all(answers)).toEqual(['a!', 'b!', 'c!', 'd!', 'e!']);
    expect(h.groups).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  test('drained waits until everything submitted so far has been answered', async () => {
    const h = harness();
    const answers = ['a', 'b'].map(h.submit);
    let drained = false;
    const waiting = h.committer.drained().then(() => void (drained = true));
    h.flush();
    await nextTurn();
    expect(drained).toBe(false);
    h.finish();
    await waiting;
    expect(await Promise.all(answers)).toEqual(['a!', 'b!']);
    expect(h.log.at(-1)).toBe('ack b!');
    await h.committer.drained();
  });

  test('maxGroup must be a positive integer', () => {
    expect(() => createGroupCommitter({ commit: (items) => items, maxGroup: 0 })).toThrow(/maxGroup/);
  });
});
