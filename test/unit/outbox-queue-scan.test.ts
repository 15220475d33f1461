/**
 * Where the outbox's pump starts reading its queue: from the top of a new list; past the busy
 * entries that led the same list last time; never past an entry that was not busy (nor past a busy
 * one behind it); and from the top again after `reset`, which is how an entry that stopped being
 * busy (a retry, a cut, a failed write) is seen again.
 */
import { describe, expect, test } from 'vitest';
import type { OutboxEntry } from '../../worker/core/outbox/store';
import { createQueueScan } from '../../worker/core/outbox/queue-scan';

const entry = (n: number): OutboxEntry => ({
  id: `m${n}`,
  seq: n,
  user: null,
  createdAt: 0,
  attempts: 0,
  state: 'queued',
  kind: 'alert.pause',
  body: { alertId: `a${n}`, paused: true },
});

function setup(count: number) {
  const list = Array.from({ length: count }, (_, i) => entry(i));
  const busy = new Set<string>();
  const scan = createQueueScan((e) => busy.has(e.id));
  const ids = (l: readonly OutboxEntry[] = list) => [...scan.open(l)].map((e) => e.id);
  return { list, busy, scan, ids };
}

describe('queue scan', () => {
  test('a new list is read from the top, without its busy entries', () => {
    const { busy, ids } = setup(4);
    busy.add('m1');
    expect(ids()).toEqual(['m0', 'm2', 'm3']);
  });

  test('the same list is read from past the busy entries that led it', () => {
    const { list, busy, ids } = setup(5);
    for (const id of ['m0', 'm1', 'm3']) busy.add(id);
    expect(ids()).toEqual(['m2', 'm4']);
    // m0 and m1 led: no longer looked at, even if they stopped being busy without a reset.
    busy.delete('m0');
    expect(ids()).toEqual(['m2', 'm4']);
    // m3 was behind m2, which was not busy: looked at again, and seen once it is free.
    busy.delete('m3');
    expect(ids()).toEqual(['m2', 'm3', 'm4']);
    // A new list (any committed change) starts from the top.
    expect(ids([...list])).toEqual(['m0', 'm2', 'm3', 'm4']);
  });

  test('after a reset the list is read from the top again', () => {
    const { busy, scan, ids } = setup(3);
    busy.add('m0');
    expect(ids()).toEqual(['m1', 'm2']);
    busy.delete('m0');
    scan.reset();
    expect(ids()).toEqual(['m0', 'm1', 'm2']);
  });

  test('a scan stopped early (the window is full) keeps what it passed', () => {
    const { busy, scan, list, ids } = setup(4);
    busy.add('m0');
    for (const e of scan.open(list)) {
      busy.add(e.id); // Sent: now in flight.
      break;
    }
    expect(ids()).toEqual(['m2', 'm3']);
  });
});
