/**
 * The built extension in Chromium against two node processes on one real Redis, reached through a
 * round-robin proxy with no sticky sessions, as an operator would run them. Notifications are
 * published through the nodes in turn; meanwhile the node the extension's hub is connected to is
 * killed (SIGKILL). The hub reconnects through the same proxy address, lands on the other node and
 * resumes from its cursor: every notification shows up in the popup exactly once, newest first,
 * with no gap notice, and the hub ends Connected to the surviving node.
 *
 * The kill happens while a publish to the surviving node is in flight, never while one to the
 * victim is: a publish cut off by the crash would leave unknown whether it was appended, and the
 * test must know exactly which notifications were acknowledged.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';
import { OptionsPage } from '../support/pages/options';
import { PopupPage } from '../support/pages/popup';
import { poll } from '../support/poll';
import { CONNECTIONS, publishNotifications } from '../support/publish';
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round-robin-proxy';
import { startTestRedis, type TestRedis } from '../support/redis-server';
import { spawnServerProcess, type ServerProcess } from '../support/server';

const USER = 'ann';
/** Stream subscriptions that took effect on a node, by recovery outcome. */
const SUBSCRIPTIONS = 'switchboard_stream_subscriptions_total';
/** Notifications published in all; the popup's first page (50) holds them all. */
const TOTAL = 40;
/** The kill comes with this one, once the hub has shown the first (so it holds a cursor). */
const KILL_AT = 16;

let redis: TestRedis;
const nodes: ServerProcess[] = [];
let proxy: RoundRobinProxy;
let browser: ExtensionBrowser;

beforeAll(async () => {
  redis = await startTestRedis();
  // One after the other: the first takes the alert lease.
  for (let i = 0; i < 2; i++) nodes.push(await spawnServerProcess({ redisUrl: redis.url }));
  proxy = await startRoundRobinProxy(nodes.map((node) => node.port));
  browser = await launchChromiumWithExtension();
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  for (const node of nodes) await node.dispose();
  await redis?.dispose();
});

/** The node holding the hub's one WebSocket, read from each node's gauge; waits until exactly one holds it. */
async function hubNode(among: readonly ServerProcess[]): Promise<ServerProcess> {
  let counts: number[] = [];
  return poll(
    () => `exactly one node to hold the hub's connection (they hold ${JSON.stringify(counts)})`,
    async () => {
      counts = await Promise.all(among.map((node) => node.metric(CONNECTIONS)));
      const total = counts.reduce((sum, count) => sum + count, 0);
      return total === 1 && among[counts.indexOf(1)]!;
    },
  );
}

describe('two nodes on one Redis behind a round-robin proxy', () => {
  test('the hub’s node is killed while notifications are published: each shows once, the hub resumes on the other node', async () => {
    const token = await nodes[0]!.mintToken(USER);
    const options = await OptionsPage.open(browser);
    await options.save({ serverUrl: proxy.url, token });
    await options.waitForStatus('Connected');
    await options.page.close();
    const popup = await PopupPage.open(browser);
    await popup.waitForStatus('Connected');

    const published: string[] = [];
    const title = (n: number): string => `Notification ${n}`;
    let live: ServerProcess[] = [...nodes];
    let victim: ServerProcess | undefined;
    let survivor: ServerProcess | undefined;
    let givenToSurvivor = 0;
    let recoveredBefore = 0;
    for (let n = 1; n <= TOTAL; n++) {
      if (n !== KILL_AT) {
        // Through the live nodes in turn: one service, one seq per feed whichever node appends.
        await publishNotifications(live[n % live.length]!, USER, published, title(n));
        continue;
      }
      // The hub has a cursor to resume from; later notifications may still be on their way to it.
      await popup.notification(title(1)).waitFor();
      victim = await hubNode(nodes);
      survivor = nodes.find((node) => node !== victim)!;
      givenToSurvivor = proxy.given().get(survivor.port) ?? 0;
      recoveredBefore = await survivor.metric(SUBSCRIPTIONS, { recovery: 'recovered' });
      await Promise.all([publishNotifications(survivor, USER, published, title(n)), victim.kill('SIGKILL')]);
      live = [survivor];
    }
    expect(published).toHaveLength(TOTAL);

    // Every notification exactly once, newest first, with nothing missing to mark as a gap.
    const expected = [...published].reverse();
    await popup.waitForTitles(expected);
    const shown = await popup.titles();
    expect(shown).toHaveLength(TOTAL);
    expect(new Set(shown).size).toBe(TOTAL);
    expect(new Set(shown)).toEqual(new Set(published));
    expect((await popup.feed()).filter((row) => row.kind === 'gap')).toEqual([]);

    // The hub came back through the proxy to the surviving node, and only there.
    await popup.waitForStatus('Connected');
    expect(await victim!.exited()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await survivor!.waitForMetric(CONNECTIONS, (count) => count === 1)).toBe(1);
    expect(proxy.given().get(survivor!.port) ?? 0).toBeGreaterThan(givenToSurvivor);
    // It resumed from its cursors there: recovered, never resynchronised.
    expect(await survivor!.metric(SUBSCRIPTIONS, { recovery: 'recovered' })).toBeGreaterThan(recoveredBefore);
    expect(await survivor!.metric(SUBSCRIPTIONS, { recovery: 'trimmed' })).toBe(0);
    expect(await survivor!.metric(SUBSCRIPTIONS, { recovery: 'epoch changed' })).toBe(0);
  });
});
