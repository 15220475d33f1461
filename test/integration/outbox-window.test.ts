/**
 * The outbox's send window against the real server on 127.0.0.1: a flush of many messages, with
 * many in flight, cut three times in the middle, and a flush into the server's `send` rate limit.
 * Every message must be applied exactly once, none may overtake an earlier one about the same alert
 * (a pause before its create would be refused; the last pause of each alert decides its state),
 * and the hub must never drive the server to close it for flooding (4029). Assertions wait for
 * events (the alert list, a metric), never for an amount of time.
 */
import { describe, expect, test } from 'vitest';
import type { HubSession } from '../../worker/core/hub';
import { until, useCleanups } from '../support/cleanups';
import { createAll, crossing, serveWithHub, statesOf, type Profile } from '../support/outbox-browser';
import type { TestServer } from '../support/server';

useCleanups();

const ALERTS = 20;

/**
 * Queues `ALERTS` creates, then pause/resume toggles in turns: alert k gets k % 4 + 1 of them, so
 * some end paused and some active, and each one's state is decided by its last message. Returns
 * the alert ids, how many messages were queued, and whether each alert should end paused.
 */
async function queuePlan(session: HubSession): Promise<{ ids: string[]; total: number; paused: boolean[] }> {
  const ids = await createAll(session, Array.from({ length: ALERTS }, (_, k) => crossing(110 + k)));
  const toggles = ids.map((_, k) => (k % 4) + 1);
  let total = ids.length;
  for (let round = 0; round < 4; round++) {
    for (const [k, id] of ids.entries()) {
      if (round >= toggles[k]!) continue;
      const result = await session.pauseAlert(id, round % 2 === 0);
      if (!result.ok) throw new Error(result.error.message);
      total++;
    }
  }
  return { ids, total, paused: toggles.map((count) => count % 2 === 1) };
}

/** Waits until the server holds every alert in its planned state, then checks nothing was applied twice or refused. */
async function expectAppliedOnceInOrder(server: TestServer, session: HubSession, browser: Profile, plan: Awaited<ReturnType<typeof queuePlan>>): Promise<void> {
  const want = plan.paused.map((paused) => (paused ? 'paused' : 'active'));
  await until('every alert in its final state, nothing pending', async () => {
    const states = await statesOf(session, plan.ids);
    return states.every((state, k) => state === want[k]);
  });
  const held = await server.alerts('ann');
  expect(new Map(held.map((alert) => [alert.id, alert.status]))).toEqual(new Map(plan.ids.map((id, k) => [id, want[k]])));
  const applied = await server.metric('switchboard_client_messages_total', { outcome: 'applied' });
  const repeats = await server.metric('switchboard_client_messages_total', { outcome: 'duplicate' });
  expect(applied).toBe(plan.total);
  expect(await server.metric('switchboard_client_messages_total', { outcome: 'refused' })).toBe(0);
  // Every copy beyond the first of each id reached the server and was answered from its record, or was lost in a cut.
  expect(new Set(browser.sent).size).toBe(plan.total);
  expect(repeats).toBeLessThanOrEqual(browser.sent.length - plan.total);
}

describe('the outbox window against the real server', () => {
  test('a flush cut three times mid-window: every message applied once, none before an earlier one of its alert', async () => {
    const { server, browser, session } = await serveWithHub(false);
    const plan = await queuePlan(session);
    const cutsAt = new Set([12, 31, 47]);
    browser.onSend = (count) => {
      // Right after the frame went out, before any answer can arrive: messages are in flight.
      if (cutsAt.has(count)) queueMicrotask(() => browser.cut());
    };
    browser.network.set(true);
    await expectAppliedOnceInOrder(server, session, browser, plan);
    expect(browser.sockets.length).toBeGreaterThanOrEqual(4);
    // Each cut left messages in flight, which went again.
    expect(browser.sent.length).toBeGreaterThan(plan.total);
  });

  test("a flush into the server's send rate limit: refused messages go again in order, and the connection is never closed for it", async () => {
    const { server, browser, session } = await serveWithHub(false, { limits: { sendRate: { burst: 8, perSecond: 100 } } });
    const plan = await queuePlan(session);
    browser.network.set(true);
    await expectAppliedOnceInOrder(server, session, browser, plan);
    // The limit was met (the window is wider than the burst) ...
    expect(await server.metric('switchboard_frames_rate_limited_total', { type: 'send' })).toBeGreaterThan(0);
    // ... and the hub slowed down instead of flooding: no 4029, one connection throughout.
    expect(await server.metric('switchboard_connections_refused_total', { reason: 'rate-limited' })).toBe(0);
    expect(browser.sockets).toHaveLength(1);
  });
});
