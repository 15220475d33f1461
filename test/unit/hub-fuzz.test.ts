/**
 * Fuzz at the hub's decoder: 50,000 frames from one seed into the real hub core (`openHub` over the
 * fake socket and fake-indexeddb, fake timers moved in steps), from random bytes and mutated frames
 * to well-formed frames with hostile values, mixed with good frames and a fake server that answers
 * the hub's stream subscriptions, so they reach the registry, the streams, the outbox and the alerts.
 * The hub must never throw, must keep its state consistent (the feed pages, every value a view was
 * given is valid, no prototype is polluted, the status is one the views know), and must still handle
 * good frames afterwards. A run is deterministic from its seed: `HUB_FUZZ_SEED=<n>` repeats one,
 * `HUB_FUZZ_FRAMES=<n>` changes its length; a failure names the seed and the frame.
 */
import * as v from 'valibot';
import { describe, expect, test, vi } from 'vitest';
import type { FeedEntry } from '../../lib/rpc/feed-entry';
import type { HubStatus, TopicUpdate } from '../../lib/rpc/hub-api';
import { parseAlertRule } from '../../lib/wire/alerts';
import { CloseCode } from '../../lib/wire/close-codes';
import { parsePriceTick } from '../../lib/wire/prices';
import { parseTopic } from '../../lib/wire/topics';
import { StreamPositionSchema } from '../../lib/wire/protocol';
import { isPlausibleTime, MAX_TIME_AHEAD_MS } from '../../lib/wire/times';
import type { FeedStore } from '../../worker/core/feed/store';
import type { Hub } from '../../worker/core/hub';
import { openHubDb } from '../../worker/store/db';
import { createFeedStore } from '../../worker/store/feed-store';
import { createFakePlatform, createRecordingLogger, jwtFor, TEST_SETTINGS, waitUntil, type FakePlatform } from '../support/fake-socket';
import { asPayload, dice, FUZZ_USER, FuzzServer, mutate, pack, seededRandom, type Dice } from '../support/hub-fuzz';
import { openTestHub, useHubHarness } from '../support/hub-harness';

const SEED = Number(process.env.HUB_FUZZ_SEED ?? 0x5b0a2d);
const FRAMES = Number(process.env.HUB_FUZZ_FRAMES ?? 50_000);
/** Frames between two steps of the clock, when the fake server also answers the hub's subscriptions. */
const CHUNK = Number(process.env.HUB_FUZZ_CHUNK ?? 250);
const START = Date.UTC(2026, 2, 3, 12);
const SETTINGS = { ...TEST_SETTINGS, token: jwtFor(FUZZ_USER) };
const STATES: ReadonlySet<HubStatus['s']> = new Set(['idle', 'connecting', 'open', 'waiting', 'offline', 'closed']);

useHubHarness();

/** Drives the hub back to `open` (through a wait, a refusal or a handshake) and answers its subscriptions. */
async function reopen(hub: Hub, platform: FakePlatform, server: FuzzServer): Promise<void> {
  for (let step = 0; hub.status().s !== 'open'; step++) {
    if (step > 20) throw new Error(`the hub did not open again: ${JSON.stringify(hub.status())}`);
    const status = hub.status();
    if (status.s === 'closed' || status.s === 'idle') hub.configure({ ...SETTINGS });
    else if (status.s === 'waiting') vi.advanceTimersByTime(Math.max(0, status.retryAt - Date.now()));
    const socket = platform.sockets.last();
    if (socket.readyState === 0) socket.accept({ user: FUZZ_USER });
  }
  await answerSubscriptions(hub, platform, server);
}

async function answerSubscriptions(hub: Hub, platform: FakePlatform, server: FuzzServer): Promise<void> {
  await hub.idle();
  const socket = platform.sockets.last();
  for (const frame of server.answer(socket.sent, Date.now())) socket.receive(frame);
}

/** The bytes of fuzz frame number `i`. */
function frameBytes(d: Dice, server: FuzzServer): Uint8Array {
  const now = Date.now();
  const kind = d.random();
  if (kind < 0.1) return Uint8Array.from({ length: d.chance(0.9) ? d.int(64) : d.int(4096) }, () => d.int(256));
  if (kind < 0.3) return mutate(d, pack(d.chance(0.5) ? server.goodFrame(now) : server.hostileFrame(now)));
  if (kind < 0.8) return pack(server.hostileFrame(now));
  return pack(server.goodFrame(now));
}

/** Whatever a view was handed is valid: the hub never passes a hostile value on. */
function checkUpdate(update: TopicUpdate, now: number): void {
  switch (update.kind) {
    case 'state': {
      const topic = parseTopic(update.topic);
      expect(['prices', 'alerts']).toContain(topic?.kind);
      expect(isPlausibleTime(update.at, now)).toBe(true);
      if (topic?.kind === 'prices') {
        const tick = parsePriceTick(update.value);
        expect(tick?.symbol).toBe(topic.arg);
        expect(isPlausibleTime(tick?.at, now)).toBe(true);
      }
      return;
    }
    case 'alerts':
      for (const item of update.alerts) {
        expect(typeof item.id).toBe('string');
        expect(parseAlertRule(item.rule).ok).toBe(true);
      }
      return;
    case 'feed':
      for (const entry of update.changed) checkEntry(entry, now);
      return;
    case 'error':
      expect(typeof update.code).toBe('string');
      return;
  }
}

function checkEntry(entry: FeedEntry, now: number): void {
  expect(['notification', 'gap']).toContain(entry.kind);
  expect(typeof entry.id).toBe('string');
  // A gap marker is dated just before the event that follows it, so an event at 0 puts one at -1.
  expect(entry.at).toBeGreaterThanOrEqual(-1);
  expect(entry.at).toBeLessThanOrEqual(now + MAX_TIME_AHEAD_MS);
  if (entry.kind === 'notification') {
    expect(typeof entry.title).toBe('string');
    expect(Number.isSafeInteger(entry.seq)).toBe(true);
  }
}

/** Every stored cursor is one a `subscribe` can carry: a topic whose cursor is not could never be subscribed again. */
async function checkCursors(store: Pick<FeedStore, 'cursor'>): Promise<void> {
  for (const topic of [`feed:${FUZZ_USER}`, 'news']) {
    const cursor = await store.cursor(topic);
    if (cursor) expect(v.is(StreamPositionSchema, cursor), `${topic} cursor ${JSON.stringify(cursor)}`).toBe(true);
  }
}

function checkStatus(status: HubStatus): void {
  expect(STATES.has(status.s), JSON.stringify(status)).toBe(true);
  if (status.s === 'open') expect(status.user).toBe(FUZZ_USER);
  if (status.s === 'waiting') expect(Number.isFinite(status.retryAt)).toBe(true);
}

describe('hub fuzz', () => {
  test(`${FRAMES} fuzzed frames into the hub core, seed ${SEED}`, { timeout: 120_000 }, async () => {
    vi.setSystemTime(START);
    const d = dice(seededRandom(SEED));
    const platform = createFakePlatform({ random: seededRandom(SEED ^ 0x9e3779b9), settings: SETTINGS });
    const hub = await openTestHub(platform, { backoffBaseMs: 100, backoffCapMs: 1000, busyBackoff: { minMs: 100, baseMs: 200, capMs: 1000 } });
    const server = new FuzzServer(d);
    const session = hub.openSession();
    const updates: TopicUpdate[] = [];
    await session.listen({ status: checkStatus, updates: (batch) => void updates.push(...batch) });
    await session.subscribe(['prices:*', 'prices:AAPL']);
    await reopen(hub, platform, server);
    for (let i = 0; i < 5; i++) expect((await session.createAlert({ symbol: 'AAPL', condition: 'above', price: 100 + i })).ok).toBe(true);

    // A second connection to the hub's database, to read its cursors as the fuzz goes.
    const db = openHubDb({ factory: platform.indexedDB, log: createRecordingLogger() });
    const cursors = createFeedStore(db, () => FUZZ_USER);
    let frame = -1;
    let last: Uint8Array = new Uint8Array();
    try {
      for (frame = 0; frame < FRAMES; frame++) {
        last = frameBytes(d, server);
        platform.sockets.last().receiveRaw(asPayload(d, last));
        if (d.chance(0.0004)) platform.sockets.last().serverClose(d.pick([1000, 1006, 1011, 1013, 4000, 4003, 4010, 4011, 4999]));
        if (d.chance(0.0002)) server.reset(d.pick([`feed:${FUZZ_USER}`, 'news']));
        if (frame % CHUNK === CHUNK - 1) {
          vi.advanceTimersByTime(d.int(2000));
          checkStatus(hub.status());
          await checkCursors(cursors);
          await reopen(hub, platform, server);
          await answerSubscriptions(hub, platform, server);
        }
      }
      await reopen(hub, platform, server);
      await hub.idle();
    } catch (error) {
      const hex = Buffer.from(last.subarray(0, 64)).toString('hex');
      throw new Error(`hub fuzz failed with seed ${SEED} (HUB_FUZZ_SEED=${SEED}) at frame ${frame} (${hex}…): ${String(error)}`, { cause: error });
    }

    // Nothing was polluted, and the hub took no hostile value on to a view.
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const now = Date.now();
    expect(updates.length).toBeGreaterThan(0);
    for (const update of updates) checkUpdate(update, now);
    // Every frame the hub sent was valid (the fake socket refuses others, which the hub logs): a
    // stored cursor no subscribe can carry would wedge its topic.
    expect(platform.log.warnings().filter((entry) => entry.message === 'send failed')).toEqual([]);

    // The fuzz reached every part: stored events, prices, alert lists and acks that hit the outbox.
    const page = await session.feed(500);
    expect(page.entries.filter((entry) => entry.kind === 'notification').length).toBeGreaterThan(100);
    expect(updates.some((update) => update.kind === 'state' && update.topic.startsWith('prices:'))).toBe(true);
    expect(updates.some((update) => update.kind === 'alerts')).toBe(true);
    expect(platform.sockets.all.flatMap((socket) => socket.sentOf('send')).length).toBeGreaterThanOrEqual(5);
    expect(platform.log.entries.some((entry) => entry.message === 'ignored an ack for no queued message')).toBe(true);
    expect((await session.alerts()).filter((item) => item.state === 'pending sync').length).toBeLessThan(5);

    // The feed still pages, newest first, every entry once and valid, each under its topic's cursor.
    for (const entry of page.entries) checkEntry(entry, now);
    expect(new Set(page.entries.map((entry) => entry.id)).size).toBe(page.entries.length);
    expect(page.entries.map((entry) => entry.at)).toEqual([...page.entries.map((entry) => entry.at)].sort((a, b) => b - a));
    const ten = await session.feed(10);
    expect(ten.entries.map((entry) => entry.id)).toEqual(page.entries.slice(0, 10).map((entry) => entry.id));
    for (const entry of page.entries) {
      if (entry.kind !== 'notification') continue;
      const cursor = await cursors.cursor(entry.topic);
      if (cursor?.epoch === entry.epoch) expect(entry.seq).toBeLessThanOrEqual(cursor.seq);
    }
    db.close();
    if (page.entries.length < 500) {
      expect(page.unread).toBe(page.entries.filter((entry) => entry.kind === 'notification' && !entry.read).length);
    }
    for (const item of await session.alerts()) expect(parseAlertRule(item.rule).ok).toBe(true);

    // Good frames after the fuzz are handled: a price reaches the view, and after the server lost
    // its feed log (a new epoch) a reconnect resynchronises and the next event is stored and shown.
    const seen = updates.length;
    platform.sockets.last().receive({ t: 'state', topic: 'prices:AAPL', value: { symbol: 'AAPL', price: 4321.5, prev: 4300, at: Date.now() }, at: Date.now() });
    await waitUntil('the good price in the view', () =>
      updates.slice(seen).some((update) => update.kind === 'state' && (update.value as { price?: number }).price === 4321.5),
    );
    server.reset(`feed:${FUZZ_USER}`);
    platform.sockets.last().serverClose(CloseCode.abnormal);
    await reopen(hub, platform, server);
    const good = { ...server.goodEvent(`feed:${FUZZ_USER}`, Date.now()), at: Date.now() };
    platform.sockets.last().receive(good);
    await hub.idle();
    // Mutated times within a year ahead are kept as sent, so the newest entries may be dated later.
    const after = await session.feed(500);
    expect(after.entries.map((entry) => entry.id)).toContain(`feed:${FUZZ_USER}/${good.epoch}/${good.seq}`);
    expect(after.entries.some((entry) => entry.kind === 'gap' && entry.reason === 'epoch changed')).toBe(true);
    expect(hub.status()).toMatchObject({ s: 'open', user: FUZZ_USER });
    expect(platform.sockets.last().sentOf('subscribe').map((frame) => frame.topic)).toEqual(expect.arrayContaining([`feed:${FUZZ_USER}`, 'news']));
  });
});
