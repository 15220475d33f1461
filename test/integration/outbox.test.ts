/**
 * The outbox and alerts against the real server on 127.0.0.1: the hub core in Node with `ws`,
 * fake-indexeddb (one factory per simulated browser profile), real timers and a network monitor
 * the test switches. Alerts created offline are created on the server exactly once, across a hub
 * restart in the middle of the flush; a price crossing one alert reaches the notifier once.
 * Assertions wait for events (an ack, an alert list), never for an amount of time.
 */
import { describe, expect, test } from 'vitest';
import { until, useCleanups } from '../support/cleanups';
import { createAll, crossing, serveWithHub, startHub, statesOf } from '../support/outbox-browser';

useCleanups();

describe('outbox against the real server', () => {
  test('three alerts created offline show as pending, are synced once online, and the server holds exactly three', async () => {
    const { server, browser, session } = await serveWithHub(false);
    const ids = await createAll(session, [crossing(110), crossing(120), crossing(130)]);
    expect(await statesOf(session, ids)).toEqual(['pending sync', 'pending sync', 'pending sync']);
    expect(browser.sent).toEqual([]);

    browser.network.set(true);
    await until('all three active from the server', async () => (await statesOf(session, ids)).every((state) => state === 'active'));
    const held = await server.alerts('ann');
    expect(held.map((alert) => alert.id).sort()).toEqual([...ids].sort());
    expect(held.map((alert) => alert.rule.price).sort()).toEqual([110, 120, 130]);
    expect(browser.sent).toHaveLength(3);
  });

  test('a hub closed in the middle of the flush and opened again creates each alert exactly once', async () => {
    const { server, token, browser, ...first } = await serveWithHub(false);
    const ids = await createAll(first.session, [crossing(110), crossing(120), crossing(130)]);
    // The second message is on the wire: close before its ack can arrive (that takes network I/O,
    // later than this microtask), as a service worker stopped mid-flush.
    const closedMidFlush = new Promise<void>((resolve) => {
      browser.onSend = (count) => {
        if (count !== 2) return;
        browser.onSend = () => {};
        queueMicrotask(() => {
          first.hub.close();
          resolve();
        });
      };
    });
    browser.network.set(true);
    await closedMidFlush;

    const second = await startHub(server, token, browser);
    await until('all three synced', async () => (await statesOf(second.session, ids)).every((state) => state === 'active'));
    const held = await server.alerts('ann');
    expect(held.map((alert) => alert.id).sort()).toEqual([...ids].sort());
    // At least one message went out twice with the same id; the server applied each one once and
    // answered the repeat from its record.
    expect(browser.sent.length).toBeGreaterThan(3);
    expect(new Set(browser.sent).size).toBe(3);
    expect(await server.metric('switchboard_client_messages_total', { kind: 'alert.create', outcome: 'applied' })).toBe(3);
    expect(await server.metric('switchboard_client_messages_total', { kind: 'alert.create', outcome: 'duplicate' })).toBe(browser.sent.length - 3);
  });

  test('an alert the server refuses fails with its reason and does not hold up the next one', async () => {
    const { server, browser, session } = await serveWithHub(false);
    const [unknown, good] = await createAll(session, [{ symbol: 'NOPE', condition: 'above', price: 5, repeat: 'once' }, crossing(110)]);
    browser.network.set(true);
    await until('the good one active', async () => (await statesOf(session, [good!]))[0] === 'active');
    const failed = (await session.alerts()).find((item) => item.id === unknown);
    expect(failed).toMatchObject({ state: 'failed' });
    expect(failed?.reason).toMatch(/NOPE/);
    expect((await server.alerts('ann')).map((alert) => alert.id)).toEqual([good]);
  });
});

describe('alerts and overlays against the real server', () => {
  test('a price crossing one alert shows one alert overlay, once', async () => {
    const { server, browser, hub, session } = await serveWithHub(true);
    const [low, mid, high] = await createAll(session, [crossing(90), crossing(150), crossing(300)]);
    await until('all active', async () => (await statesOf(session, [low!, mid!, high!])).every((state) => state === 'active'));
    // A crossing needs a tick on each side after the alert exists (the first one has no previous).
    await server.publishPrice('AAPL', 100);
    await server.publishPrice('AAPL', 160);
    const shown = await until('the overlay', () => browser.notifier.shown[0]);
    expect(shown.item).toMatchObject({ kind: 'alert', title: 'AAPL crossing 150', level: 'high' });
    expect(await session.overlay(shown.item.id)).toEqual(shown.item);
    await until('the alert fired in the list', async () => (await statesOf(session, [mid!]))[0] === 'fired');
    // Another tick that crosses nothing, and the hub settled: still exactly one.
    await server.publishPrice('AAPL', 170);
    await hub.idle();
    expect(browser.notifier.shown).toHaveLength(1);
    await session.dismissOverlay(shown.item.id);
    expect(browser.notifier.hidden).toEqual([shown.item.id]);
    expect((await session.feed()).unread).toBe(0);
  });
});
