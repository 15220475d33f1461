/**
 * The harness of the hub unit tests: the hub's fake timers before each test, and after it every hub
 * opened with `openTestHub` waits until idle and closes, spies are restored and timers are real again.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import type { TopicUpdate } from '../../lib/rpc/hub-api';
import { openHub, type Hub, type HubOptions, type HubSession } from '../../worker/core/hub';
import type { HubPlatform } from '../../worker/core/platform';
import { useHubFakeTimers } from './fake-socket';

const open: Hub[] = [];

/** Registers the hooks; call once at the top of a file, or inside the `describe` that opens hubs. */
export function useHubHarness(): void {
  beforeEach(() => {
    useHubFakeTimers();
  });
  afterEach(async () => {
    for (const hub of open.splice(0)) {
      await hub.idle();
      hub.close();
    }
    vi.restoreAllMocks();
    vi.useRealTimers();
  });
}

/** `openHub`, with the hub closed after the test (by the hooks `useHubHarness` registers). */
export async function openTestHub(platform: HubPlatform, options?: Readonly<Partial<HubOptions>>): Promise<Hub> {
  const hub = await openHub(platform, options);
  open.push(hub);
  return hub;
}

/** Listens on `session` with a view that ignores statuses; returns every update it is sent, in order. */
export async function listenAll(session: HubSession): Promise<TopicUpdate[]> {
  const updates: TopicUpdate[] = [];
  await session.listen({ status: () => {}, updates: (batch) => void updates.push(...batch) });
  return updates;
}
