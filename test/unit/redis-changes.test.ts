/**
 * The ordering rules of the Redis log's watchers (`server/event-log/redis-changes.ts`) against a
 * fake log, for the interleavings a real Redis produces too rarely to test on purpose: own replies
 * ahead of other nodes' changes, echoes lost or late, a fill racing changes still in flight, an
 * epoch change read by a fill before older changes arrive, events trimmed before they were heard.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { StreamPosition } from '../../lib/wire/protocol';
import { createChangeSequencer, type ChangeSequencer } from '../../server/event-log/redis-changes';
import type { LogChange, StoredEvent } from '../../server/event-log/types';

const ECHO_WAIT = 100;

/** The log as Redis holds it: one topic's epoch and events. */
function fakeLog() {
  let epoch: string | null = 'E1';
  let events: StoredEvent[] = [];
  const make = (seq: number, at = seq): StoredEvent => ({ topic: 't', epoch: epoch!, seq, at, data: { title: `n${seq}`, body: '', level: 'info' } });
  return {
    /** Appends to the fake log (as another node would) and returns the event, not yet heard by anyone. */
    append(): StoredEvent {
      const event = make((events.at(-1)?.seq ?? 0) + 1);
      events.push(event);
      return event;
    },
    reset(next: string | null) {
      epoch = next;
      events = [];
    },
    trimTo(firstSeq: number) {
      events = events.filter((e) => e.seq >= firstSeq);
    },
    reads: 0,
    read(_topic: string, after: StreamPosition, limit: number) {
      this.reads += 1;
      const current = epoch;
      const found = current === after.epoch ? events.filter((e) => e.seq > after.seq).slice(0, limit) : [];
      return Promise.resolve({ epoch: current, events: found });
    },
  };
}

const ev = (event: StoredEvent): LogChange => ({ type: 'event', event });
const describeChange = (c: LogChange) => (c.type === 'event' ? `${c.event.epoch}:${c.event.seq}` : `reset ${c.epoch}`);
/** Lets the fills' promise chains run. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('the Redis log watchers', () => {
  let log: ReturnType<typeof fakeLog>;
  let heard: string[];
  let subscribed: boolean;
  let seq: ChangeSequencer;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    log = fakeLog();
    heard = [];
    subscribed = true;
    seq = createChangeSequencer({
      emit: (change) => heard.push(describeChange(change)),
      read: (topic, after, limit) => log.read(topic, after, limit),
      subscribed: () => subscribed,
      onFillError: (error) => {
        throw error;
      },
      echoWaitMs: ECHO_WAIT,
    });
  });
  afterEach(() => {
    seq.close();
    vi.useRealTimers();
  });

  test('heard changes in order are told once; an echo of what was told is dropped', async () => {
    const [e1, e2] = [log.append(), log.append()];
    seq.heard(ev(e1));
    seq.heard(ev(e2));
    seq.heard(ev(e2));
    expect(heard).toEqual(['E1:1', 'E1:2']);
    expect(log.reads).toBe(0);
  });

  test('an own append that follows the last told is told before it resolves, and its echo is dropped', async () => {
    seq.heard(ev(log.append()));
    const e2 = log.append();
    await seq.own(ev(e2));
    expect(heard).toEqual(['E1:1', 'E1:2']);
    seq.heard(ev(e2));
    expect(heard).toEqual(['E1:1', 'E1:2']);
  });

  test("an own append ahead of another node's change waits for its echo, which comes after that change", async () => {
    seq.heard(ev(log.append()));
    const [theirs, mine] = [log.append(), log.append()];
    let resolved = false;
    const own = seq.own(ev(mine)).then(() => (resolved = true));
    await settle();
    expect(resolved).toBe(false);
    seq.heard(ev(theirs));
    seq.heard(ev(mine));
    await own;
    expect(heard).toEqual(['E1:1', 'E1:2', 'E1:3']);
    expect(log.reads).toBe(0);
  });

  test('an own append whose echo never comes is read from the log after the echo wait, not before', async () => {
    seq.heard(ev(log.append()));
    log.append(); // another node's, lost on the way
    const mine = log.append();
    let resolved = false;
    const own = seq.own(ev(mine)).then(() => (resolved = true));
    await vi.advanceTimersByTimeAsync(ECHO_WAIT - 1);
    expect(resolved).toBe(false);
    expect(log.reads).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await own;
    expect(heard).toEqual(['E1:1', 'E1:2', 'E1:3']);
  });

  test('with the subscriber down, an own append that leaves a gap is read from the log at once', async () => {
    seq.heard(ev(log.append()));
    log.append();
    subscribed = false;
    await seq.own(ev(log.append()));
    expect(heard).toEqual(['E1:1', 'E1:2', 'E1:3']);
  });

  test('a gap on the channel is filled from the log; changes heard meanwhile are neither lost nor repeated', async () => {
    seq.heard(ev(log.append()));
    const lost = [log.append(), log.append()];
    const [e4, e5] = [log.append(), log.append()];
    expect(lost).toHaveLength(2);
    seq.heard(ev(e4));
    seq.heard(ev(e5));
    const e6 = log.append();
    seq.heard(ev(e6));
    await settle();
    expect(heard).toEqual(['E1:1', 'E1:2', 'E1:3', 'E1:4', 'E1:5', 'E1:6']);
  });

  test('a fill that reads a new epoch announces a reset first, and older changes still in flight do not flip the topic back', async () => {
    seq.heard({ type: 'reset', topic: 't', epoch: 'E1' });
    const stale = log.append(); // E1:1, in flight when the log is lost
    log.reset('E2');
    const fresh = log.append();
    subscribed = false;
    await seq.own(ev(fresh));
    expect(heard).toEqual(['reset E1', 'reset E2', 'E2:1']);
    seq.heard(ev(stale));
    seq.heard({ type: 'reset', topic: 't', epoch: 'E1' });
    seq.heard({ type: 'reset', topic: 't', epoch: 'E2' });
    seq.heard(ev(fresh));
    await settle();
    expect(heard).toEqual(['reset E1', 'reset E2', 'E2:1']);
  });

  test('an event heard in a new epoch past its first is preceded by a reset and the epoch read from its start', async () => {
    seq.heard(ev(log.append()));
    log.reset('E2');
    log.append();
    const e2 = log.append();
    seq.heard(ev(e2));
    await settle();
    expect(heard).toEqual(['E1:1', 'reset E2', 'E2:1', 'E2:2']);
  });

  test('events trimmed before they were heard are skipped, so the next one told shows the gap', async () => {
    seq.heard(ev(log.append()));
    for (let i = 0; i < 4; i++) log.append();
    log.trimTo(4);
    seq.heard(ev(log.append()));
    await settle();
    expect(heard).toEqual(['E1:1', 'E1:4', 'E1:5', 'E1:6']);
  });

  test('an own reset resolves once told; its echo is not told again', async () => {
    seq.heard(ev(log.append()));
    log.reset('E2');
    const own = seq.own({ type: 'reset', topic: 't', epoch: 'E2' });
    seq.heard({ type: 'reset', topic: 't', epoch: 'E2' });
    await own;
    expect(heard).toEqual(['E1:1', 'reset E2']);
  });

  test('catch-up reads every followed topic up to its head, from the head this node read when it heard nothing yet', async () => {
    for (let i = 0; i < 3; i++) log.append();
    seq.sawHead('t', { epoch: 'E1', seq: 3 });
    log.append();
    log.append();
    await seq.catchUp();
    expect(heard).toEqual(['E1:4', 'E1:5']);
  });

  test('an event heard past the head read, when nothing was heard since, is preceded by the ones lost on the way', async () => {
    for (let i = 0; i < 2; i++) log.append();
    seq.sawHead('t', { epoch: 'E1', seq: 2 });
    log.append(); // lost on the way
    seq.heard(ev(log.append()));
    await settle();
    expect(heard).toEqual(['E1:3', 'E1:4']);
  });

  test('a change heard at or below the head read is still told when nothing was heard before it', async () => {
    const [e1, e2] = [log.append(), log.append()];
    seq.sawHead('t', { epoch: 'E1', seq: 2 });
    seq.heard(ev(e1));
    seq.heard(ev(e2));
    expect(heard).toEqual(['E1:1', 'E1:2']);
  });

  test('close resolves the own changes still waiting', async () => {
    seq.heard(ev(log.append()));
    log.append();
    const waiting = seq.own(ev(log.append()));
    seq.close();
    await waiting;
    expect(heard).toEqual(['E1:1']);
  });
});
