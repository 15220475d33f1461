/**
 * Recording the server's answers: failures (refused as `invalid`, or expired) and removals (acked)
 * are written, then mirrored and announced. Until the write committed their ids are settling: the
 * outbox neither sends them again nor takes a repeated ack for them. The next message goes out at
 * once, without waiting for that commit: the server has applied this one, so order holds, and if
 * the write is lost the message is sent again after a restart and answered from the server's
 * record. Only the mirror and what watchers hear wait for the commit.
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
   * Nothing changed on disk; `failures` writes in a row have failed. The message is to be sent
   * again (same id) after a delay, the server repeats its ack, and recording it is tried again.
   */
  notRecorded(failures: number): void;
}

export interface Settlements {
  /** Whether an answer for this id is being recorded. */
  has(id: string): boolean;
  /** Records `failed` entries (with their reason) and removes `removed` ones, acknowledged. */
  settle(failed: readonly OutboxEntry[], removed: readonly string[]): void;
}

export function createSettlements(deps: SettlementsDeps): Settlements {
  const { mirror, log } = deps;
  const settling = new Set<string>();
  /** Consecutive writes that failed, for the delay before trying again. */
  let failures = 0;

  return {
    has: (id) => settling.has(id),
    settle(failed, removed) {
      const ids = [...failed.map((entry) => entry.id), ...removed];
      for (const id of ids) settling.add(id);
      void mirror
        .write(async (store) => {
          if (failed.length > 0) await store.update(failed);
          if (removed.length > 0) await store.remove(removed);
        })
        .then(
          () => {
            failures = 0;
            for (const id of ids) settling.delete(id);
            for (const entry of failed) log.warn('a client message failed', { id: entry.id, kind: entry.kind, reason: entry.reason });
            mirror.settled(failed, new Set(removed));
            deps.recorded();
          },
          (error: unknown) => {
            failures++;
            for (const id of ids) settling.delete(id);
            log.warn('the outbox could not record an answer; it tries again', { error: String(error), failures });
            deps.notRecorded(failures);
          },
        );
    },
  };
}
