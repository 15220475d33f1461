/**
 * The feed tests' side of the hub: stream frames, a view that records what it is sent, and a hub
 * over a fake platform that connects as `ann` and answers its stream subscriptions. Hubs open through
 * `openTestHub`: call `useHubHarness()` in the test file.
 */
import type { FeedUpdate, HubListener, TopicUpdate } from '../../lib/rpc/hub-api';
import type { FeedEntry } from '../../lib/rpc/feed-entry';
import type { EventFrame, FrameOf, ServerFrame } from '../../lib/wire/protocol';
import type { Hub } from '../../worker/core/hub';
import { createFakePlatform, type FakePlatform, type FakeSocket } from './fake-socket';
import { openTestHub } from './hub-harness';

export function ev(topic: string, epoch: string, seq: number, title = `${topic} #${seq}`): EventFrame {
  return { t: 'event', topic, epoch, seq, at: 1_000 + seq, data: { title, body: 'text' } };
}

export function subscribed(
  topic: string,
  recovery: 'fresh' | 'recovered' | 'trimmed' | 'epoch changed',
  head: { epoch: string; seq: number },
  from?: number,
): FrameOf<ServerFrame, 'subscribed'> {
  return { t: 'subscribed', topic, mode: 'stream', recovery, position: head, ...(from === undefined ? {} : { from }) };
}

/** A view to listen with: what it was sent, as feed updates, ids announced and the last unread count. */
export function view() {
  const updates: TopicUpdate[][] = [];
  const listener: HubListener = {
    status: () => {},
    updates: (batch) => {
      updates.push([...batch]);
    },
  };
  const feedUpdates = (): FeedUpdate[] => updates.flat().filter((update): update is FeedUpdate => update.kind === 'feed');
  /** Every entry announced, by id, in the order first announced. */
  const announced = (): string[] => [...new Set(feedUpdates().flatMap((update) => update.changed.map((entry) => entry.id)))];
  return { listener, feedUpdates, announced, unread: () => feedUpdates().at(-1)?.unread };
}

export const ids = (entries: readonly FeedEntry[]) => entries.map((entry) => entry.id);

/** A hub over a fake platform (`createFakePlatform()` unless given), backoff base 1 s. */
export async function start(platform: FakePlatform = createFakePlatform()) {
  const hub = await openTestHub(platform, { backoffBaseMs: 1000 });
  return { platform, hub, socket: () => platform.sockets.last() };
}

/** Opens the socket for `user` and waits until the hub asked for both stream topics. */
export async function connect(hub: Hub, socket: FakeSocket, user = 'ann') {
  socket.accept({ user });
  await hub.idle();
  return streamSubscribes(socket);
}

export function streamSubscribes(socket: FakeSocket) {
  return socket.sentOf('subscribe').filter((frame) => frame.topic === 'news' || frame.topic.startsWith('feed:'));
}

/**
 * The server's side of a first install: both topics fresh, `news` empty, the feed at `seq`.
 * Resolves once the events are stored and announced (`hub.idle()`); views get them right after.
 */
export async function freshStart(hub: Hub, socket: FakeSocket, feedEvents: EventFrame[] = []) {
  socket.receive(subscribed('news', 'fresh', { epoch: 'n1', seq: 0 }));
  socket.receive(subscribed('feed:ann', 'fresh', { epoch: 'f1', seq: feedEvents.at(-1)?.seq ?? 0 }, feedEvents[0]?.seq));
  if (feedEvents.length > 0) socket.receive({ t: 'batch', frames: feedEvents });
  await hub.idle();
}
