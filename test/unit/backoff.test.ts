import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { backoffDelay } from '../../lib/backoff';
import { startConnection, useHubFakeTimers } from '../support/fake-socket';

const almostOne = 1 - Number.EPSILON;

describe('backoffDelay (pure)', () => {
  const options = { baseMs: 1000, capMs: 30_000 };

  test.each([
    [0, 0.5, 500],
    [1, 0.5, 1000],
    [2, 0.5, 2000],
    [3, 0.5, 4000],
    [0, 0, 0],
    [0, almostOne, 999],
    [4, almostOne, 15_999],
  ])('attempt %i with random %d waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, options, () => random)).toBe(expected);
  });

  test('the cap bounds every delay, however many attempts failed', () => {
    for (const attempt of [5, 6, 10, 64, 1100, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffDelay(attempt, options, () => almostOne);
      expect(delay).toBeLessThan(30_000);
      expect(delay).toBeGreaterThanOrEqual(29_999);
    }
  });

  test('full jitter covers the whole window from zero to the ceiling', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.25)).toBe(2000);
    expect(backoffDelay(3, options, () => almostOne)).toBe(7999);
  });

  test('minMs raises the floor without passing the ceiling', () => {
    expect(backoffDelay(0, { ...options, minMs: 200 }, () => 0)).toBe(200);
    expect(backoffDelay(0, { ...options, minMs: 200 }, () => 0.5)).toBe(600);
    expect(backoffDelay(0, { baseMs: 100, capMs: 100, minMs: 300 }, () => 0.5)).toBe(300);
  });

  test('odd attempt numbers and random values stay within bounds', () => {
    expect(backoffDelay(-3, options, () => 0.5)).toBe(500);
    expect(backoffDelay(Number.NaN, options, () => 0.5)).toBe(500);
    expect(backoffDelay(2, options, () => 7)).toBe(4000);
    expect(backoffDelay(2, options, () => -1)).toBe(0);
  });
});

describe('reconnect timing', () => {
  beforeEach(() => {
    useHubFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('nothing at d-1, the retry at d, with the delay doubling per failure', () => {
    const h = startConnection({ random: () => 0.5 });
    for (const [attempt, delay] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
      [4, 4000],
    ] as const) {
      h.sockets.last().serverClose(1006);
      expect(h.connection.state).toEqual({ s: 'waiting', attempt, retryAt: Date.now() + delay, reason: 'connection lost' });
      vi.advanceTimersByTime(delay - 1);
      expect(h.sockets.all).toHaveLength(attempt);
      expect(h.connection.state.s).toBe('waiting');
      vi.advanceTimersByTime(1);
      expect(h.sockets.all).toHaveLength(attempt + 1);
      expect(h.connection.state).toEqual({ s: 'connecting', attempt });
    }
  });

  test('the cap is respected', () => {
    const h = startConnection({ random: () => almostOne, connection: { backoff: { baseMs: 1000, capMs: 4000 } } });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.sockets.last().serverClose(1006);
      const state = h.connection.state;
      if (state.s !== 'waiting') throw new Error(`expected waiting, got ${state.s}`);
      delays.push(state.retryAt - Date.now());
      vi.advanceTimersByTime(state.retryAt - Date.now());
    }
    expect(delays).toEqual([999, 1999, 3999, 3999, 3999, 3999]);
  });

  test('a successful open resets the attempt count', () => {
    const h = startConnection({ random: () => 0.5 });
    for (let i = 0; i < 4; i++) {
      h.sockets.last().serverClose(1006);
      vi.runOnlyPendingTimers();
    }
    expect(h.connection.state).toEqual({ s: 'connecting', attempt: 4 });
    h.sockets.last().accept();
    expect(h.connection.state.s).toBe('open');

    h.sockets.last().serverClose(1006);
    expect(h.connection.state).toMatchObject({ s: 'waiting', attempt: 1, retryAt: Date.now() + 500 });
    vi.advanceTimersByTime(499);
    expect(h.sockets.all).toHaveLength(5);
    vi.advanceTimersByTime(1);
    expect(h.sockets.all).toHaveLength(6);
  });
});
