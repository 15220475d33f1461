/**
 * Writes one stream topic's events to the feed store. The start the server announced in
 * `subscribed` is applied in the transaction of the first events that follow (at once when none
 * follow), so a gap marker lands just before them; and every committed change says how its events
 * reached the hub (`StoredOrigin`): the replay of what the server held when the hub subscribed is
 * tracked until the cursor reaches that head. An event whose time is implausible (years ahead of the
 * hub's clock, or no time a `Date` holds) is stored at the time it arrived (`redateImplausible`).
 */
import type { EventFrame, FrameOf, ServerFrame } from '../../../lib/wire/protocol';
import { redateImplausible, type StreamStart } from './cursor';
import type { AppendResult, FeedStore } from './store';
import type { Clock, Logger } from '../platform';

/**
 * Which of a change's events are live and which replay what the server already held when the hub
 * subscribed (the log's head then): after a disconnect or a restart, those are what the user
 * missed while away.
 */
export interface StoredOrigin {
  readonly topic: string;
  /** Events of this epoch with `seq` at or below `until` were replayed; `null`: every event is live. */
  readonly replay: { readonly epoch: string; readonly until: number } | null;
  /** The hub had no cursor for the topic (a first start): what was replayed is history, not missed. */
  readonly history: boolean;
  /** The replay is complete with this change (or there was none). */
  readonly replayDone: boolean;
}

export interface StreamWriterDeps {
  readonly topic: string;
  readonly store: FeedStore;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface StreamWriter {
  /** A subscription was asked for; `hadCursor`: one was stored (so what it replays was missed). */
  asked(hadCursor: boolean): void;
  /**
   * The server started the subscription (`cursorRefused`: it was asked for without the stored
   * cursor, which the server refused): the start waits for the next write. Throws when the answer
   * is not a stream's.
   */
  started(frame: FrameOf<ServerFrame, 'subscribed'>, cursorRefused: boolean): void;
  /** The announced start no longer applies: the subscription is being replaced. */
  forget(): void;
  /** In one transaction: the pending start, then `events`. Logs what was skipped. */
  write(events: readonly EventFrame[]): Promise<{ readonly result: AppendResult; readonly origin: StoredOrigin }>;
}

function report(log: Logger, topic: string, result: AppendResult): void {
  if (result.jumps > 0) log.warn('the server skipped events; gap marker stored', { topic, jumps: result.jumps });
  if (result.invalid > 0) log.warn('stream events that are not notifications were stored as unreadable markers', { topic, count: result.invalid });
  if (result.early > 0) log.warn('stream events before the subscription started were dropped', { topic, count: result.early });
  if (result.otherEpoch > 0) log.warn('stream events of another epoch were dropped', { topic, count: result.otherEpoch });
}

export function createStreamWriter(deps: StreamWriterDeps): StreamWriter {
  const { topic, log } = deps;
  /** The start `subscribed` announced, applied in the transaction of the first events that follow. */
  let start: StreamStart | null = null;
  /** Whether a cursor was stored when the current subscription was asked for. */
  let hadCursor = false;
  /** The head of the log when the current subscription started, until the replay reached it. */
  let replay: StoredOrigin['replay'] = null;

  return {
    asked(had) {
      hadCursor = had;
    },
    started(frame, cursorRefused) {
      if (frame.mode !== 'stream' || !frame.position) {
        throw new Error(`the server answered a stream subscription with mode ${frame.mode} and no position`);
      }
      const { position } = frame;
      // Events are numbered from 1 and the first that follows is at most one past the head; a
      // `from` outside that would move the cursor below 0 (a cursor no subscribe can carry, which
      // would wedge the topic) or past events that exist.
      if (frame.from !== undefined && (frame.from < 1 || frame.from > position.seq + 1)) {
        throw new Error(`the server's subscription answer starts at ${frame.from}, outside 1 to ${position.seq + 1}`);
      }
      log.info('stream subscribed', { topic, recovery: frame.recovery, position, from: frame.from });
      start = { epoch: position.epoch, next: frame.from ?? position.seq + 1, cursorRefused };
      replay = { epoch: position.epoch, until: position.seq };
    },
    forget() {
      start = null;
    },
    async write(events) {
      const applying = start;
      start = null;
      const now = deps.clock.now();
      const dated = redateImplausible(events, now);
      if (dated.redated > 0) {
        log.warn('stream events with an implausible time are stored at the time they arrived', { topic, count: dated.redated, why: dated.why });
      }
      const result = await deps.store.append(topic, applying, dated.events, now);
      report(log, topic, result);
      const replayed = replay;
      const cursor = result.cursor;
      const replayDone = !replayed || !cursor || cursor.epoch !== replayed.epoch || cursor.seq >= replayed.until;
      if (replayDone) replay = null;
      return { result, origin: { topic, replay: replayed, history: !hadCursor, replayDone } };
    },
  };
}
