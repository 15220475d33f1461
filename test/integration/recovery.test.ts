/**
 * The hub core in Node (fake-indexeddb, `ws`) against the real server: notifications published
 * while the hub is away arrive exactly once and in order when it comes back (`recovered`), and
 * when the server cannot recover (`trimmed`, `epoch changed`) the hub resynchronises and stores a
 * gap marker saying what was missed. "Away" is a cut connection (a TCP proxy unplugged), a hub
 * closed and reopened on the same database (a service-worker or browser restart), and a server
 * killed with SIGKILL and restarted on its SQLite store. Assertions wait for feed updates and
 * statuses as they happen, never for an amount of time.
 */
// idb recognises IDB objects by the global classes; fake-indexeddb/auto installs them in Node.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import type { FeedUpdate, HubStatus } from '../../lib/rpc/hub-api';
import type { FeedEntry, GapEntry, NotificationEntry } from '../../lib/rpc/feed-entry';
import { openHub, type Hub, type HubSession } from '../../worker/core/hub';
import { systemClock } from '../../worker/core/platform';
import { onCleanup, serve, useCleanups } from '../support/cleanups';
import { createFakeNetwork, createMemorySettingsStore, createRecordingLogger, type RecordingLogger } from '../support/fake-socket';
import { spawnServerProcess, type ServerHttp } from '../support/server';
import { startTcpProxy } from '../support/tcp-proxy';

useCleanups();

/** Resolves when `probe` holds, checked now and after every change `subscribe` reports. */
function whenever<T>(subscribe: (check: () => void) => () => void, probe: () => T | undefined | false): Promise<T> {
  return new Promise((resolve) => {
    let stop = (): void => {};
    const check = (): void => {
      const value = probe();
      if (value === undefined || value === false) return;
      stop();
      resolve(value);
    };
    stop = subscribe(check);
    check();
  });
}

/** A hub with one listening view, the way a popup sees it. */
interface Client {
  readonly hub: Hub;
  readonly session: HubSession;
  readonly log: RecordingLogger;
  readonly indexedDB: IDBFactory;
  /** Every feed update the view received. */
  readonly updates: FeedUpdate[];
  /** Resolves once `probe` holds over what the view received. */
  until<T>(probe: () => T | undefined | false): Promise<T>;
  /** Resolves once the hub's status satisfies `probe`. */
  untilStatus(probe: (status: HubStatus) => boolean): Promise<HubStatus>;
  /** Notifications of `topic` the view was told about, in the order it was told, each time it was told. */
  announced(topic: string): NotificationEntry[];
  gaps(topic: string): GapEntry[];
  /** How the stream subscriptions of `topic` went, in order (`fresh`, `recovered`, ...). */
  recoveries(topic: string): unknown[];
  close(): Promise<void>;
}

async function startClient(serverUrl: string, token: string, indexedDB = new IDBFactory()): Promise<Client> {
  const log = createRecordingLogger();
  const updates: FeedUpdate[] = [];
  const watchers = new Set<() => void>();
  const notify = (): void => {
    for (const watcher of [...watchers]) watcher();
  };
  const watch = (check: () => void) => {
    watchers.add(check);
    return () => watchers.delete(check);
  };
  const hub = await openHub(
    {
      openSocket: (url) => new WebSocket(url),
      clock: systemClock,
      random: Math.random,
      network: createFakeNetwork(true),
      settings: createMemorySettingsStore({ serverUrl, token }),
      indexedDB,
      // Log lines are events too (`stream subscribed` says how a subscription recovered).
      log: {
        info: (message, data) => {
          log.info(message, data);
          notify();
        },
        warn: (message, data) => {
          log.warn(message, data);
          notify();
        },
      },
    },
    { backoffBaseMs: 50, backoffCapMs: 200 },
  );
  const session = hub.openSession();
  await session.listen({
    status: () => notify(),
    updates: (batch) => {
      for (const update of batch) if (update.kind === 'feed') updates.push(update);
      notify();
    },
  });
  let closed = false;
  const changed = (): FeedEntry[] => updates.flatMap((update) => update.changed);
  const client: Client = {
    hub,
    session,
    log,
    indexedDB,
    updates,
    until: (probe) => whenever(watch, probe),
    untilStatus: (probe) => whenever(watch, () => probe(hub.status()) && hub.status()),
    announced: (topic) => changed().filter((e): e is NotificationEntry => e.kind === 'notification' && e.topic === topic),
    gaps: (topic) => changed().filter((e): e is GapEntry => e.kind === 'gap' && e.topic === topic),
    recoveries: (topic) =>
      log.entries.filter((entry) => entry.message === 'stream subscribed' && entry.data?.topic === topic).map((entry) => entry.data?.recovery),
    async close() {
      if (closed) return;
      closed = true;
      await hub.idle();
      hub.close();
      // Recovery went by the rules: nothing ignored, dropped out of turn or refused.
      expect(log.warnings()).toEqual([]);
    },
  };
  onCleanup(() => client.close());
  return client;
}

/** Publishes `count` notifications to `user`, one after the other; resolves with their seqs. */
async function publish(server: ServerHttp, user: string, count: number, label: string): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 1; i <= count; i++) seqs.push((await server.publishNotification(user, { title: `${label} ${i}`, body: `body ${i}` })).seq);
  return seqs;
}

const seqsOf = (entries: readonly NotificationEntry[]) => entries.map((entry) => entry.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Stored notifications of `topic`, oldest first, as a fresh `feed()` page shows them. */
async function stored(client: Client, topic: string): Promise<number[]> {
  const page = await client.session.feed(500);
  return page.entries
    .filter((e): e is NotificationEntry => e.kind === 'notification' && e.topic === topic)
    .map((entry) => entry.seq)
    .reverse();
}

describe('events published while the hub is away arrive once, in order, recovered', () => {
  test('across a cut connection', async () => {
    const server = await serve();
    const proxy = await startTcpProxy({ port: server.port });
    onCleanup(() => proxy.close());
    const token = await server.mintToken('ann');
    const client = await startClient(proxy.url, token);

    await client.until(() => client.recoveries('feed:ann').length === 1);
    await publish(server, 'ann', 2, 'before');
    await client.until(() => client.announced('feed:ann').length === 2);

    proxy.unplug();
    await client.untilStatus((status) => status.s !== 'open');
    const missed = await publish(server, 'ann', 5, 'while away');
    expect(missed).toEqual(range(3, 7));
    proxy.plug();

    await client.until(() => client.announced('feed:ann').length >= 7);
    await client.hub.idle();
    expect(seqsOf(client.announced('feed:ann'))).toEqual(range(1, 7));
    expect(client.recoveries('feed:ann')).toEqual(['fresh', 'recovered']);
    expect(client.gaps('feed:ann')).toEqual([]);
    expect(await stored(client, 'feed:ann')).toEqual(range(1, 7));
    expect(client.updates.at(-1)?.unread).toBe(7);
  });

  test('across a hub restart on the same database (service worker or browser restart), news included', async () => {
    const server = await serve();
    const token = await server.mintToken('ann');
    const first = await startClient(server.url, token);
    await first.until(() => first.recoveries('news').length === 1 && first.recoveries('feed:ann').length === 1);
    await publish(server, 'ann', 3, 'first life');
    await server.publishNews({ title: 'headline 1', body: '' });
    await first.until(() => first.announced('feed:ann').length === 3 && first.announced('news').length === 1);
    await first.session.markRead([first.announced('feed:ann')[0]!.id]);
    await first.close();

    await publish(server, 'ann', 4, 'while closed');
    await server.publishNews({ title: 'headline 2', body: '' });

    const second = await startClient(server.url, token, first.indexedDB);
    await second.until(() => second.announced('feed:ann').length >= 4 && second.announced('news').length >= 1);
    await second.hub.idle();
    expect(seqsOf(second.announced('feed:ann'))).toEqual(range(4, 7));
    expect(seqsOf(second.announced('news'))).toEqual([2]);
    expect(second.recoveries('feed:ann')).toEqual(['recovered']);
    expect(second.recoveries('news')).toEqual(['recovered']);
    expect(await stored(second, 'feed:ann')).toEqual(range(1, 7));
    const page = await second.session.feed();
    expect(page.unread).toBe(3 - 1 + 4 + 2);
    expect(page.entries.find((entry) => entry.kind === 'notification' && entry.seq === 1 && entry.topic === 'feed:ann')?.read).toBe(true);
  });
});

describe('when the server cannot recover, the hub resynchronises and says what was missed', () => {
  test('a trimmed log: a gap marker with the number of lost events, then the newest events', async () => {
    const server = await serve({ retention: { maxEvents: 3 } });
    const token = await server.mintToken('ann');
    const first = await startClient(server.url, token);
    await first.until(() => first.recoveries('feed:ann').length === 1);
    await publish(server, 'ann', 1, 'kept');
    await first.until(() => first.announced('feed:ann').length === 1);
    await first.close();

    // Seven more: the log keeps only the newest three (6, 7, 8), so 2 to 5 are lost.
    await publish(server, 'ann', 7, 'while closed');

    const second = await startClient(server.url, token, first.indexedDB);
    await second.until(() => second.announced('feed:ann').length >= 3);
    await second.hub.idle();
    expect(second.recoveries('feed:ann')).toEqual(['trimmed']);
    expect(second.gaps('feed:ann')).toEqual([expect.objectContaining({ reason: 'trimmed', missed: 4 })]);
    expect(seqsOf(second.announced('feed:ann'))).toEqual([6, 7, 8]);
    // Newest first: the marker sits between what was kept and what came after.
    const page = await second.session.feed();
    expect(page.entries.map((entry) => (entry.kind === 'gap' ? `missed ${entry.missed}` : entry.seq))).toEqual([8, 7, 6, 'missed 4', 1]);
  });

  test('an epoch change while connected: the hub resynchronises at once and stores the new epoch', async () => {
    const server = await serve();
    const token = await server.mintToken('ann');
    const client = await startClient(server.url, token);
    await client.until(() => client.recoveries('feed:ann').length === 1);
    const before = await server.publishNotification('ann', { title: 'old epoch', body: '' });
    await client.until(() => client.announced('feed:ann').length === 1);

    const { epoch } = await server.resetTopic('feed:ann');
    expect(epoch).not.toBe(before.epoch);
    await client.until(() => client.gaps('feed:ann').length === 1);
    const after = await server.publishNotification('ann', { title: 'new epoch', body: '' });
    await client.until(() => client.announced('feed:ann').length === 2);
    await client.hub.idle();
    expect(client.gaps('feed:ann')).toEqual([expect.objectContaining({ reason: 'epoch changed', missed: null })]);
    expect(client.announced('feed:ann').map((entry) => [entry.epoch, entry.seq])).toEqual([
      [before.epoch, 1],
      [epoch, after.seq],
    ]);
  });

  test('an epoch change while away: resync with the newest events of the new epoch and an epoch-changed marker', async () => {
    const server = await serve();
    const token = await server.mintToken('ann');
    const first = await startClient(server.url, token);
    await first.until(() => first.recoveries('feed:ann').length === 1);
    await publish(server, 'ann', 2, 'old');
    await first.until(() => first.announced('feed:ann').length === 2);
    await first.close();

    const { epoch } = await server.resetTopic('feed:ann');
    await publish(server, 'ann', 3, 'new');

    const second = await startClient(server.url, token, first.indexedDB);
    await second.until(() => second.announced('feed:ann').length >= 3);
    await second.hub.idle();
    expect(second.recoveries('feed:ann')).toEqual(['epoch changed']);
    expect(second.gaps('feed:ann')).toEqual([expect.objectContaining({ reason: 'epoch changed', missed: null })]);
    expect(second.announced('feed:ann').map((entry) => `${entry.epoch === epoch ? 'new' : 'old'} ${entry.seq}`)).toEqual(['new 1', 'new 2', 'new 3']);
    // Entries of the old epoch stay; the marker separates the two lives of the log.
    const page = await second.session.feed();
    expect(page.entries.map((entry) => (entry.kind === 'gap' ? 'gap' : `${entry.epoch === epoch ? 'new' : 'old'} ${entry.seq}`))).toEqual([
      'new 3',
      'new 2',
      'new 1',
      'gap',
      'old 2',
      'old 1',
    ]);
  });
});

describe('the SQLite store', () => {
  test('recovery holds across server crashes (SIGKILL) and restarts', async () => {
    const server = await spawnServerProcess();
    onCleanup(() => server.dispose());
    const token = await server.mintToken('ann');
    const client = await startClient(server.url, token);
    await client.until(() => client.recoveries('feed:ann').length === 1);
    await publish(server, 'ann', 2, 'before the crash');
    await client.until(() => client.announced('feed:ann').length === 2);
    const epoch = client.announced('feed:ann')[0]!.epoch;

    // Crash while connected: the hub keeps retrying until the server is back.
    await server.kill('SIGKILL');
    await client.untilStatus((status) => status.s !== 'open');
    await server.restart();
    await client.untilStatus((status) => status.s === 'open');
    await publish(server, 'ann', 2, 'after the restart');
    await client.until(() => client.announced('feed:ann').length >= 4);

    // Crash again right after acknowledged publishes, with the hub closed: they must survive.
    await client.close();
    await publish(server, 'ann', 3, 'while closed');
    await server.kill('SIGKILL');
    await server.restart();

    const again = await startClient(server.url, token, client.indexedDB);
    await again.until(() => again.announced('feed:ann').length >= 3);
    await again.hub.idle();
    expect(again.recoveries('feed:ann')).toEqual(['recovered']);
    expect(again.announced('feed:ann').map((entry) => [entry.epoch, entry.seq])).toEqual([
      [epoch, 5],
      [epoch, 6],
      [epoch, 7],
    ]);
    expect(await stored(again, 'feed:ann')).toEqual(range(1, 7));
    expect(again.gaps('feed:ann')).toEqual([]);
    const recoveries = client.recoveries('feed:ann');
    expect(recoveries[0]).toBe('fresh');
    expect(recoveries.slice(1).every((recovery) => recovery === 'recovered')).toBe(true);
  });
});
