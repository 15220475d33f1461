/**
 * Recording the server's answers: failures (refused as `invalid`, or expired) and removals (acked)
 * are written, then mirrored and announced. Answers that arrive while a write is running wait and
 * go together in the next one, so a window of acks costs a few transactions, not one each. Until
 * its write committed an id is settling: the outbox neither sends it again nor takes a repeated ack
 * for it. Later messages go out without waiting for that commit: the server has answered this one,
 * so order holds, and if the write is lost the message is sent again after a restart and answered
 * from the server's record. Only the mirror and what watchers hear wait for the commit.
 */
import type { OutboxMirror } from './mirror';
import type { OutboxEntry } from './store';
import type { Logger } from '../platform';

export interface SettlementsDeps {
  readonly mirror: OutboxMirror;
  readonly log: Logger;
  /** The answers were recorded and announced. */
  recorded(): void;
  /**
   * Nothing changed on disk; `failures` writes in a row have failed. The messages are to be sent
   * again (same ids) after a delay, the server repeats its acks, and recording them is tried again.
   */
  notRecorded(failures: number): void;
}

export interface Settlements {
  /** Whether an answer for this id is being recorded. */
  has(id: string): boolean;
  /** Records `failed` entries (with their reason) and removes `removed` ones, acknowledged. */
  settle(failed: readonly OutboxEntry[], removed: readonly string[]): void;
  /** Resolves once every answer so far, and any that arrive meanwhile, was written (or failed to be). */
  idle(): Promise<void>;
}

export function createSettlements(deps: SettlementsDeps): Settlements {
  const { mirror, log } = deps;
  const settling = new Set<string>();
  /** Answers not yet handed to a write. */
  let failed: OutboxEntry[] = [];
  let removed: string[] = [];
  /** The write in progress, `null` when none. */
  let writing: Promise<void> | null = null;
  /** Consecutive writes that failed, for the delay before trying again. */
  let failures = 0;

  function flush(): void {
    if (writing || (failed.length === 0 && removed.length === 0)) return;
    const batch = { failed, removed };
    failed = [];
    removed = [];
    const ids = [...batch.failed.map((entry) => entry.id), ...batch.removed];
    writing = mirror
      .write(async (store) => {
        if (batch.failed.length > 0) await store.update(batch.failed);
        if (batch.removed.length > 0) await store.remove(batch.removed);
      })
      .then(
        () => {
          failures = 0;
          for (const id of ids) settling.delete(id);
          for (const entry of batch.failed) log.warn('a client message failed', { id: entry.id, kind: entry.kind, reason: entry.reason });
          mirror.settled(batch.failed, new Set(batch.removed));
          deps.recorded();
        },
        (error: unknown) => {
          failures++;
          for (const id of ids) settling.delete(id);
          log.warn('the outbox could not record answers; it tries again', { error: String(error), failures, count: ids.length });
          deps.notRecorded(failures);
        },
      )
      .finally(() => {
        writing = null;
        flush();
      });
  }

  return {
    has: (id) => settling.has(id),
    settle(newlyFailed, newlyRemoved) {
      for (const entry of newlyFailed) settling.add(entry.id);
      for (const id of newlyRemoved) settling.add(id);
      failed.push(...newlyFailed);
      removed.push(...newlyRemoved);
      // Acks that arrive together (one read from the socket) are recorded together.
      if (!writing) queueMicrotask(flush);
    },
    async idle() {
      for (;;) {
        // Let a flush queued on a microtask start first.
        await null;
        if (!writing) return;
        await writing;
      }
    },
  };
}
