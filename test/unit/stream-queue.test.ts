/**
 * One stream topic's queue: work handled strictly in arrival order, one step at a time, and the
 * events that arrive while a step (a write) is in flight handed on together as one step, so they
 * are written in one transaction. The handler is a stand-in the test releases step by step.
 */
import { describe, expect, test } from 'vitest';
import type { EventFrame } from '../../lib/wire/protocol';
import { createStreamQueue, type StreamStep } from '../../worker/core/feed/stream-queue';
import { nextTurn } from '../support/poll';

const ev = (seq: number): EventFrame => ({ t: 'event', topic: 'news', epoch: 'e1', seq, data: { title: `#${seq}`, body: '' }, at: seq });

/** A queue whose handler records each step and waits until the test releases it. */
function scripted() {
  const steps: StreamStep[] = [];
  const releases: Array<() => void> = [];
  const queue = createStreamQueue(async (step) => {
    steps.push(step);
    await new Promise<void>((resolve) => releases.push(resolve));
  });
  const seqs = (step: StreamStep | undefined) => (step?.k === 'events' ? step.frames.map((frame) => frame.seq) : step?.k);
  return { queue, steps, seqs, release: () => releases.shift()?.() };
}

describe('the stream queue', () => {
  test('events pushed in one turn are one step', async () => {
    const { queue, steps, seqs, release } = scripted();
    for (let seq = 1; seq <= 500; seq++) queue.push({ k: 'event', frame: ev(seq) });
    await nextTurn();
    expect(steps.map(seqs)).toEqual([Array.from({ length: 500 }, (_, i) => i + 1)]);
    release();
    await queue.running;
  });

  test('events that arrive in separate turns while a step is in flight go on together in the next step, in order', async () => {
    const { queue, steps, seqs, release } = scripted();
    queue.push({ k: 'event', frame: ev(1) });
    await nextTurn();
    expect(steps).toHaveLength(1);
    for (let seq = 2; seq <= 6; seq++) {
      queue.push({ k: 'event', frame: ev(seq) });
      await nextTurn();
    }
    // Still one step: the first is in flight and the rest wait for it.
    expect(steps).toHaveLength(1);
    release();
    await nextTurn();
    expect(steps.map(seqs)).toEqual([[1], [2, 3, 4, 5, 6]]);
    release();
    await queue.running;
    expect(queue.running).toBeNull();
  });

  test('other work splits the events around it, and nothing overtakes anything', async () => {
    const { queue, steps, seqs, release } = scripted();
    queue.push({ k: 'event', frame: ev(1) });
    await nextTurn();
    queue.push({ k: 'event', frame: ev(2) });
    queue.push({ k: 'unsubscribed', frame: { t: 'unsubscribed', topic: 'news' } });
    queue.push({ k: 'event', frame: ev(3) });
    queue.push({ k: 'event', frame: ev(4) });
    for (let i = 0; i < 3; i++) {
      release();
      await nextTurn();
    }
    expect(steps.map(seqs)).toEqual([[1], [2], 'unsubscribed', [3, 4]]);
    release();
    await queue.running;
  });
});
