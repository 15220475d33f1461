/**
 * The two ways to read a server session's frames: an SSE stream read with `fetch` and
 * `eventsource-parser` (a Chrome MV3 service worker has no `EventSource`, and a hand-written SSE
 * parser is what issue 13 asked not to grow), or a long-poll loop. Each reports base64 frames, one
 * `delivered()` per thing that arrived (so the host can keep its worker alive), and ends with the
 * server's own close or a failure; a reader never throws.
 */
import { createParser } from 'eventsource-parser';
import { parseClose, type FetchLike } from './http-wire';

export interface ReaderEvents {
  /** A server frame, base64 as the server sent it. */
  frame(base64: string): void;
  /** Something arrived: an SSE event or heartbeat comment, a poll answer (even an empty one). */
  delivered(): void;
  /** The server closed the session with this code and reason. */
  closed(close: { code: number; reason: string }): void;
  /** The read broke (a cut stream, a non-200 answer, an unreadable body): the caller closes with 1006. */
  failed(reason: string): void;
}

export interface ReaderContext {
  readonly fetch: FetchLike;
  /** The session's URL, `…/rt/sessions/<id>`. */
  readonly url: string;
  /** The session's secret header. */
  readonly headers: Readonly<Record<string, string>>;
  /** Aborted when the socket closes: every request in flight ends with it. */
  readonly signal: AbortSignal;
  /** False once the socket closed; a reader stops reporting then. */
  isOpen(): boolean;
}

export type Reader = (context: ReaderContext, on: ReaderEvents) => Promise<void>;

/** Reads `GET …/stream` until the server's `event: close`, or reports the stream broken. */
export const readStream: Reader = async (context, on) => {
  let closed = false;
  const parser = createParser({
    onEvent(event) {
      if (closed || !context.isOpen()) return;
      on.delivered();
      if (event.event !== 'close') return on.frame(event.data);
      closed = true;
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        // A close we cannot read is still a close.
      }
      on.closed(parseClose(parsed) ?? { code: 1006, reason: 'the server closed the stream' });
    },
    onComment() {
      if (context.isOpen()) on.delivered();
    },
  });
  try {
    const res = await context.fetch(`${context.url}/stream`, { headers: { ...context.headers, accept: 'text/event-stream' }, signal: context.signal });
    if (res.status !== 200 || !res.body) return on.failed(`stream answered ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    while (!closed && context.isOpen()) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    if (!closed && context.isOpen()) on.failed('the stream ended without a close');
    if (closed) void reader.cancel().catch(() => undefined);
  } catch (error) {
    if (!closed && context.isOpen()) on.failed(`the stream broke: ${String(error)}`);
  }
};

/**
 * Polls `GET …/poll` again at once after each answer, until one carries the server's close. Each
 * answer says the number of its first frame (`from`); one that does not follow on from the frames
 * read so far means an answer never arrived (a proxy that retried the poll, or answered it itself)
 * and is reported as a failure, so the hub opens a new session and recovers from its cursors
 * rather than store a gap. A stream needs no such check: its events come in one ordered response,
 * which cannot lose one in the middle and go on.
 */
export const readPolls: Reader = async (context, on) => {
  let next = 1;
  try {
    while (context.isOpen()) {
      const res = await context.fetch(`${context.url}/poll`, { headers: context.headers, signal: context.signal });
      if (res.status !== 200) return on.failed(`poll answered ${res.status}`);
      const body = (await res.json()) as { from?: unknown; frames?: unknown; close?: unknown };
      if (!context.isOpen()) return;
      if (!Array.isArray(body.frames)) return on.failed('a poll answer without frames');
      if (body.from !== next) return on.failed(`a poll answer went missing: frame ${next} was next, the answer starts at ${String(body.from)}`);
      next += body.frames.length;
      on.delivered();
      for (const frame of body.frames) {
        if (!context.isOpen()) return;
        if (typeof frame !== 'string') return on.failed('a poll answer with a frame that is not a string');
        on.frame(frame);
      }
      const close = parseClose(body.close);
      if (close) return on.closed(close);
    }
  } catch (error) {
    if (context.isOpen()) on.failed(`the poll broke: ${String(error)}`);
  }
};
