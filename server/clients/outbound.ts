/**
 * Everything one client is sent goes through here: single frames, frames prepared once for many
 * sockets (the fan-outs' state values and live stream events) and replayed stream events. Stream
 * events are never dropped or merged: they go out in order as `event` frames or byte-limited
 * `batch` frames, and a replay learns when the socket has written them, which is how it waits out
 * backpressure.
 *
 * It also bounds what one client can make the server hold: whatever the frames are (snapshots,
 * replays, acks, errors), once the bytes queued and not yet written (`ws` `bufferedAmount`: the
 * socket's buffer and `ws`'s own queue) exceed `maxBacklogBytes`, nothing more is written and the
 * client is handed to `onBacklog` (closed with 1013). The frames that build a backlog are each
 * bounded, so the buffer never holds much more than the limit.
 *
 * One per connection, so a class: its methods are shared, where closures made per connection
 * would each cost memory (more so under tsx, whose `keepNames` gives every named closure a
 * property dictionary of its own).
 */
import type { Codec } from '../../lib/wire/codec';
import type { FrameOf, ServerFrame } from '../../lib/wire/protocol';
import { clip } from '../common/untrusted';
import type { StoredEvent } from '../event-log/types';
import type { Metrics } from '../metrics';
import { SocketState, type ClientSocket } from '../transports/client-socket';
import { writePrepared, type PreparedFrame } from '../transports/prepared-frame';
import { createServerFrames, eventFrame, type ServerFrames } from './frames';

export { eventFrame, MAX_BATCH_FRAMES } from './frames';

export interface Outbound {
  /** The socket is open and not over its backlog limit: frames sent now are written. */
  isOpen(): boolean;
  send(frame: ServerFrame): void;
  /** Writes a frame prepared once for every socket (the same bytes to each). */
  sendPrepared(frame: PreparedFrame): void;
  /** Sends one live stream event, encoded once for all its subscribers. */
  sendEvent(event: StoredEvent): void;
  /**
   * Sends the events in order, packed into as few frames as the size limit allows. Resolves once
   * the socket has written the last of them (or failed: the close handler deals with that).
   */
  sendEvents(events: readonly StoredEvent[]): Promise<void>;
  /** Bytes queued in the socket and not yet written. */
  bufferedAmount(): number;
}

/** Told once, on a microtask (so the handler that wrote finishes its bookkeeping first), with the backlog that went over the limit. */
export interface BacklogListener {
  onBacklog(bytes: number): void;
}

export interface OutboundDeps {
  readonly ws: ClientSocket;
  readonly codec: Codec;
  readonly metrics: Pick<Metrics, 'framesSent'>;
  /** Largest frame to send as a batch; a single event bigger than this still goes out alone. */
  readonly maxFrameBytes: number;
  /** Over this many bytes queued and not yet written, nothing more is written and `onBacklog` is called. */
  readonly maxBacklogBytes: number;
  /** Called once, on a microtask, with the backlog that went over the limit. */
  readonly onBacklog: (bytes: number) => void;
  /** The server's shared frames. Default: made for this outbound from `codec` and `maxFrameBytes`. */
  readonly frames?: ServerFrames;
}

/** Longest message an `error` frame carries. */
const MAX_ERROR_CHARS = 500;

/** An `error` frame, its message cut to a bounded length (it may quote what the client sent). */
export const errorFrame = (code: FrameOf<ServerFrame, 'error'>['code'], message: string): FrameOf<ServerFrame, 'error'> => ({
  t: 'error',
  code,
  message: clip(message, MAX_ERROR_CHARS),
});

/** One socket's outbound side; `createOutbound` for a standalone one. */
export class SocketOutbound implements Outbound {
  private overLimit = false;

  constructor(
    private readonly ws: ClientSocket,
    private readonly frames: ServerFrames,
    private readonly metrics: Pick<Metrics, 'framesSent'>,
    private readonly maxBacklogBytes: number,
    private readonly listener: BacklogListener,
  ) {}

  isOpen(): boolean {
    return !this.overLimit && this.ws.readyState === SocketState.OPEN;
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(frame: ServerFrame): void {
    if (this.isOpen()) this.write(this.frames.prepare(frame));
  }

  sendPrepared(frame: PreparedFrame): void {
    if (this.isOpen()) this.write(frame);
  }

  sendEvent(event: StoredEvent): void {
    if (this.isOpen()) this.write(this.frames.event(event));
  }

  sendEvents(events: readonly StoredEvent[]): Promise<void> {
    if (!this.isOpen() || events.length === 0) return Promise.resolve();
    const packed = this.frames.packEvents(events);
    return new Promise((resolve) => {
      for (let i = 0; i < packed.length - 1; i++) {
        this.write(packed[i]!);
        // Over the backlog limit: the client is being closed, the rest would only pile up.
        if (!this.isOpen()) return resolve();
      }
      // Socket writes complete in order, so the last frame's callback means all of them are out.
      this.write(packed.at(-1)!, resolve);
    });
  }

  private write(frame: PreparedFrame, done?: () => void): void {
    writePrepared(this.ws, frame, done);
    this.metrics.framesSent(frame.type);
    const backlog = this.ws.bufferedAmount;
    if (backlog > this.maxBacklogBytes && !this.overLimit) {
      this.overLimit = true;
      queueMicrotask(() => this.listener.onBacklog(backlog));
    }
  }
}

export function createOutbound(deps: OutboundDeps): Outbound {
  const frames = deps.frames ?? createServerFrames(deps.codec, deps.maxFrameBytes);
  return new SocketOutbound(deps.ws, frames, deps.metrics, deps.maxBacklogBytes, { onBacklog: deps.onBacklog });
}
