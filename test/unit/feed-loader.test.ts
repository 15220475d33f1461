import { describe, expect, test, vi } from 'vitest';
import { createFeedLoader } from '../../components/feed-loader';
import type { FeedPage } from '../../lib/rpc/hub-api';

const page = (unread: number): FeedPage => ({ entries: [], unread });

describe('createFeedLoader', () => {
  test('a snapshot overtaken by an update is asked for again; the next one is applied', async () => {
    const answers = [Promise.withResolvers<FeedPage>(), Promise.withResolvers<FeedPage>()];
    let call = 0;
    const apply = vi.fn();
    const loader = createFeedLoader({ fetch: () => answers[call++]!.promise, apply, onError: () => {} });
    loader.load();
    loader.noteUpdate();
    answers[0]!.resolve(page(3));
    await vi.waitFor(() => expect(call).toBe(2));
    expect(apply).not.toHaveBeenCalled();
    answers[1]!.resolve(page(4));
    await vi.waitFor(() => expect(apply).toHaveBeenCalledWith(page(4)));
    expect(apply).toHaveBeenCalledTimes(1);
  });

  test('with no update in between the snapshot is applied at once; a failure is reported', async () => {
    const apply = vi.fn();
    const onError = vi.fn();
    const loader = createFeedLoader({ fetch: async () => page(1), apply, onError });
    loader.noteUpdate();
    loader.load();
    await vi.waitFor(() => expect(apply).toHaveBeenCalledWith(page(1)));
    const failing = createFeedLoader({ fetch: async () => Promise.reject(new Error('gone')), apply, onError });
    failing.load();
    await vi.waitFor(() => expect(onError).toHaveBeenCalled());
  });
});
