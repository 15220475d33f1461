/**
 * One client over plain HTTP, presented to the connection (`clients/client.ts`) as the subset of a
 * WebSocket it uses (`ClientSocket`), so the handshake, session, limits and metrics run unchanged.
 * Server frames wait in a queue until a receiver takes them: an SSE stream (`GET …/stream`, each
 * frame written as it comes) or a long poll (`GET …/poll`, answered with what is queued, up to
 * `maxPollBytes`, or with nothing once `pollTimeoutMs` has passed). Client frames arrive by `POST …/frames` and are
 * emitted as binary `message`s. At most one receiver at a time: a newer one ends the older (a
 * client that lost track of a half-dead request just asks again).
 *
 * Frames travel as msgpack in base64 (see README, "HTTP transports"): the very bytes `/ws` sends,
 * encoded once per fan-out like them, and the codec validates client frames exactly as on `/ws`.
 *
 * The bytes queued and not yet taken count as `bufferedAmount`, so the backlog limit bounds a
 * session that nobody reads just as it bounds a socket that does not drain.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { SocketState, type ClientSocket, type FrameBytes } from './client-socket';

import { base64Of, closeEvent, HEARTBEAT_COMMENT, sseEvent, SSE_HEADERS, type SessionClose } from './sse';


/**
 * What a long poll answers: the queued frames (msgpack in base64), `from` the number of the first
 * of them among all the frames the session's polls handed out (1 for the very first; for an answer
 * with none, the number the next one will get), and the close once the session has closed. A
 * client that counts the frames it read sees from `from` whether an answer went missing on the way.
 */
interface PollBody {
  readonly from: number;
  readonly frames: readonly string[];
  readonly close?: SessionClose;
}

export interface HttpSessionOptions {
  /** Interval of the `: heartbeat` comments on a stream, so proxies and the client see it alive. */
  readonly streamHeartbeatMs: number;
  /** How long a poll waits for a frame before it is answered with none. */
  readonly pollTimeoutMs: number;
  /** Most msgpack bytes one poll answer carries (at least one frame); the rest wait for the next poll. */
  readonly maxPollBytes: number;
  /** Wall clock in ms. */
  readonly now: () => number;
}

interface Queued {
  readonly frame: FrameBytes;
  readonly done: (() => void) | undefined;
}

type Receiver =
  | { readonly kind: 'stream'; readonly res: ServerResponse; readonly timer: ReturnType<typeof setInterval> }
  | { readonly kind: 'poll'; readonly res: ServerResponse; readonly timer: ReturnType<typeof setTimeout> };

const NO_POLL_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

/** A new random token of `bytes` bytes, base64url. */
const token = (bytes: number): string => randomBytes(bytes).toString('base64url');

export class HttpSession extends EventEmitter implements ClientSocket {
  /** In the URL: 128 random bits, so it cannot be guessed, but it may be logged. */
  readonly id = token(16);
  /** Only in the `x-switchboard-session` header (never in a URL), so a logged URL gives nothing. */
  readonly secret = token(32);
  binaryType = 'nodebuffer';
  readyState: number = SocketState.OPEN;
  /** When the last receiver went away (or the session was made), for expiry; `undefined` while one is attached. */
  private detachedAt: number | undefined;
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private receiver: Receiver | undefined;
  private pollAnswer: ReturnType<typeof setImmediate> | undefined;
  private closeInfo: SessionClose | undefined;
  /** The number the next frame handed to a poll gets (see `PollBody.from`). */
  private nextPolled = 1;

  constructor(private readonly options: HttpSessionOptions) {
    super();
    this.detachedAt = options.now();
  }

  get bufferedAmount(): number {
    const writing = this.receiver?.kind === 'stream' ? this.receiver.res.writableLength : 0;
    return this.queuedBytes + writing;
  }

  /** Whether `presented` (the `x-switchboard-session` header) is this session's secret, compared in constant time. */
  admits(presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(this.secret);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** What reads the session right now, for the metrics: a stream, a pending poll, or nothing (between polls). */
  reading(): 'stream' | 'poll' | 'none' {
    return this.receiver?.kind ?? 'none';
  }

  /** Ms since a receiver was last attached, or 0 while one is. */
  idleFor(now: number): number {
    return this.detachedAt === undefined ? 0 : now - this.detachedAt;
  }

  /** Closed, and every frame queued before the close handed to a receiver: nothing is left to tell. */
  drained(): boolean {
    return this.readyState === SocketState.CLOSED && this.queue.length === 0 && this.receiver === undefined && this.closeInfo === undefined;
  }

  send(data: Buffer, _options: { readonly binary: boolean }, cb?: (error?: Error) => void): void {
    this.sendPrepared({ type: 'frame', bytes: data }, cb && (() => cb()));
  }

  sendPrepared(frame: FrameBytes, done?: () => void): void {
    // As `ws` does after a close: not sent, but the callback still runs (a replay waits on it).
    if (this.readyState !== SocketState.OPEN) return void (done && process.nextTick(done));
    this.queue.push({ frame, done });
    this.queuedBytes += frame.bytes.byteLength;
    this.flush();
  }

  /** Client frames from a POST, in order. */
  deliver(frames: readonly Buffer[]): void {
    for (const frame of frames) {
      if (this.readyState !== SocketState.OPEN) return;
      this.emit('message', frame, true);
    }
  }

  /** The server closes: the receiver (now or the next one) is told why, after the frames queued before. */
  close(code: number, reason: string): void {
    if (this.readyState !== SocketState.OPEN) return;
    this.closeInfo = { code, reason };
    this.finish(code, reason);
  }

  /** Cut off: what is queued is dropped. */
  terminate(): void {
    if (this.readyState === SocketState.CLOSED) return;
    this.dropQueue();
    this.closeInfo ??= { code: 1006, reason: 'terminated' };
    this.finish(this.closeInfo.code, this.closeInfo.reason);
  }

  /** The client ended the session (`DELETE`): nothing more is sent. */
  closeByPeer(): void {
    this.dropQueue();
    this.closeInfo = undefined;
    this.endReceiver();
    if (this.readyState !== SocketState.CLOSED) this.finish(1000, 'client closed the session');
  }

  /** Attaches an SSE stream as the receiver: heartbeat comments every `streamHeartbeatMs`, frames as they come. */
  attachStream(res: ServerResponse): void {
    this.replaceReceiver();
    res.writeHead(200, SSE_HEADERS);
    // A comment at once, so the client (and any proxy) sees the response begin before the first frame.
    res.write(HEARTBEAT_COMMENT);
    const timer = setInterval(() => res.write(HEARTBEAT_COMMENT), this.options.streamHeartbeatMs);
    timer.unref();
    this.attach({ kind: 'stream', res, timer });
    this.flush();
  }

  /** Attaches a long poll as the receiver: answered at once if anything is queued, else at the first frame or the timeout. */
  attachPoll(res: ServerResponse): void {
    this.replaceReceiver();
    const timer = setTimeout(() => this.answerPoll(), this.options.pollTimeoutMs);
    timer.unref();
    this.attach({ kind: 'poll', res, timer });
    this.flush();
  }

  private attach(receiver: Receiver): void {
    this.receiver = receiver;
    this.detachedAt = undefined;
    receiver.res.once('close', () => {
      // Still the receiver, so the server never ended this response: the read was cut (the client
      // left, a proxy gave up). A client never reads a session again after a failed read (the hub
      // opens a new one and recovers from its cursors), so this one ends now rather than at idle
      // expiry, and its subscriptions and its place under the caps go with it.
      if (this.receiver === receiver) this.cut();
    });
  }

  /** The current read was cut: the session ends as a WebSocket that dropped does (1006). */
  private cut(): void {
    this.detach();
    this.dropQueue();
    this.closeInfo = undefined;
    if (this.readyState !== SocketState.CLOSED) this.finish(1006, 'the client\'s read was cut');
  }

  private detach(): void {
    const receiver = this.receiver;
    if (!receiver) return;
    this.receiver = undefined;
    this.detachedAt = this.options.now();
    if (receiver.kind === 'stream') clearInterval(receiver.timer);
    else clearTimeout(receiver.timer);
    clearImmediate(this.pollAnswer);
    this.pollAnswer = undefined;
  }

  /** A newer receiver replaces the older: a poll is answered (with what is queued), a stream ended. */
  private replaceReceiver(): void {
    if (this.receiver?.kind === 'poll') this.answerPoll();
    else this.endReceiver();
  }

  private endReceiver(): void {
    const receiver = this.receiver;
    if (!receiver) return;
    this.detach();
    if (receiver.kind === 'poll') sendPoll(receiver.res, { from: this.nextPolled, frames: [] });
    else receiver.res.end();
  }

  private flush(): void {
    const receiver = this.receiver;
    if (!receiver || (this.queue.length === 0 && this.closeInfo === undefined)) return;
    if (receiver.kind === 'poll') {
      // Answered on the next turn, so frames sent together (subscribed and its replay) go in one
      // answer; the close at once, before a shutting-down server cuts the connection.
      if (this.closeInfo) this.answerPoll();
      else this.pollAnswer ??= setImmediate(() => this.answerPoll());
      return;
    }
    const queued = this.take();
    for (const { frame, done } of queued) receiver.res.write(sseEvent(frame), done && (() => done()));
    const close = this.takeClose();
    if (close) {
      receiver.res.end(closeEvent(close));
      this.detach();
    }
  }

  private answerPoll(): void {
    const receiver = this.receiver;
    if (receiver?.kind !== 'poll') return;
    this.detach();
    const queued = this.take(this.options.maxPollBytes);
    // The close goes with the last frames, never ahead of any.
    const close = this.queue.length === 0 ? this.takeClose() : undefined;
    const from = this.nextPolled;
    this.nextPolled += queued.length;
    const body: PollBody = { from, frames: queued.map((q) => base64Of(q.frame)), ...(close ? { close } : {}) };
    // Once written, or once the connection is gone without it: a replay waiting on them goes on either way.
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      for (const { done } of queued) done?.();
    };
    receiver.res.once('close', settle);
    sendPoll(receiver.res, body, settle);
  }

  /** Drops what is queued; the frames' callbacks still run, as `ws` runs them for frames it could not write. */
  private dropQueue(): void {
    for (const { done } of this.take()) if (done) process.nextTick(done);
  }

  /** The queued frames, in order, up to `maxBytes` (at least one). */
  private take(maxBytes = Infinity): Queued[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && (count === 0 || bytes + this.queue[count]!.frame.bytes.byteLength <= maxBytes)) {
      bytes += this.queue[count]!.frame.bytes.byteLength;
      count += 1;
    }
    const queued = this.queue.splice(0, count);
    this.queuedBytes -= bytes;
    return queued;
  }

  /** The close, once (the receiver that gets it is the last). */
  private takeClose(): SessionClose | undefined {
    const close = this.closeInfo;
    this.closeInfo = undefined;
    return close;
  }

  /** Closed from now on; the connection hears `close` on the next tick, as from `ws`, once its own close call has returned. */
  private finish(code: number, reason: string): void {
    this.readyState = SocketState.CLOSED;
    this.flush();
    process.nextTick(() => this.emit('close', code, Buffer.from(reason)));
  }
}

function sendPoll(res: ServerResponse, body: PollBody, written?: () => void): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { ...NO_POLL_HEADERS, 'content-length': Buffer.byteLength(text) });
  res.end(text, written);
}
