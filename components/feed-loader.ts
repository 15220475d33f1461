/**
 * Loads a view's feed snapshot without letting it undo a newer update. Updates and call answers
 * travel on different ports, so a `FeedUpdate` can arrive while `feed()` is on its way, and the
 * snapshot then carries an older unread count than the update did. When an update was noted while
 * a load was in flight, the snapshot is dropped and asked for again (the update's entries are
 * already shown).
 */
import type { FeedPage } from '../lib/rpc/hub-api';

export interface FeedLoader {
  /** Asks for a snapshot and hands it to `apply` once no update overtook it; resolves then (or on failure). */
  load(): Promise<void>;
  /** A feed update reached the view. */
  noteUpdate(): void;
}

export function createFeedLoader(deps: {
  readonly fetch: () => Promise<FeedPage>;
  readonly apply: (snapshot: FeedPage) => void;
  readonly onError: (error: unknown) => void;
}): FeedLoader {
  let version = 0;
  const loader: FeedLoader = {
    load() {
      const asked = version;
      return deps.fetch().then((snapshot) => {
        if (version !== asked) return loader.load();
        deps.apply(snapshot);
      }, deps.onError);
    },
    noteUpdate() {
      version += 1;
    },
  };
  return loader;
}
