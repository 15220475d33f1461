/**
 * The small pieces both in-process logs share: making epoch ids and telling watchers of changes.
 * A watcher that throws is a bug in that watcher; it must not undo an append that is already
 * durable, nor keep the other watchers from hearing of it, so its error goes to `onError`.
 */
import { randomBytes } from 'node:crypto';
import type { LogChange, LogWatcher } from './types';

/** 96 random bits: an epoch from another life of the log never collides with this one's. */
export function randomEpoch(): string {
  return randomBytes(12).toString('base64url');
}

export interface Watchers {
  add(watcher: LogWatcher): () => void;
  emit(change: LogChange): void;
  clear(): void;
}

export function createWatchers(onError: (error: unknown) => void = (error) => console.error('event log watcher failed', error)): Watchers {
  const watchers = new Set<LogWatcher>();
  return {
    add(watcher) {
      // A wrapper per call, so the same function watched twice is also stopped one at a time.
      const entry: LogWatcher = (change) => watcher(change);
      watchers.add(entry);
      return () => void watchers.delete(entry);
    },
    emit(change) {
      for (const watcher of watchers) {
        try {
          watcher(change);
        } catch (error) {
          onError(error);
        }
      }
    },
    clear() {
      watchers.clear();
    },
  };
}
