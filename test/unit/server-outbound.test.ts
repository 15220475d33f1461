/**
 * How stream events go out: one `event` frame alone, several packed into `batch` frames that the
 * receiving codec accepts and that stay within the frame limit (4096 frames at most), in order, each
 * event exactly once; an event too big to share a frame goes alone; the promise settles when the
 * socket has written the last frame. And the backlog limit: whatever the frames, once the socket
 * holds more than `maxBacklogBytes` not yet written, nothing more is written and the client is
 * handed over to be closed, once.
 */
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createCodec } from '../../lib/wire/codec';
import type { ServerFrame } from '../../lib/wire/protocol';
import type { StoredEvent } from '../../server/event-log/types';
import { createServerFrames } from '../../server/clients/frames';
import { createOutbound, MAX_BATCH_FRAMES, type Outbound } from '../../server/clients/outbound';

const codec = createCodec();

/**
 * The part of a `ws` socket the outbound uses, recording what was sent. `backlogPerByte`: each byte
 * written adds this many to the backlog (a socket that never drains); default 0.
 */
function fakeSocket(backlogPerByte = 0) {
  const written: Uint8Array[] = [];
  const callbacks: Array<() => void> = [];
  const ws = {
    readyState: WebSocket.OPEN as number,
    bufferedAmount: 0,
    send(data: Uint8Array, _options: unknown, cb?: () => void) {
      written.push(data);
      ws.bufferedAmount += data.byteLength * backlogPerByte;
      if (cb) callbacks.push(cb);
    },
  };
  return {
    ws: ws as unknown as WebSocket,
    written,
    callbacks,
    /** What the socket holds and has not written yet. */
    setBuffered: (bytes: number) => void (ws.bufferedAmount = bytes),
  };
}

/** An outbound on `socket` with a 1 MiB backlog limit whose closes are recorded in `backlogs`. */
function outboundOn(socket: ReturnType<typeof fakeSocket>, maxFrameBytes: number, backlogs: number[] = []): Outbound {
  return createOutbound({ ws: socket.ws, codec, metrics: { framesSent: () => undefined }, maxFrameBytes, maxBacklogBytes: 1024 * 1024, onBacklog: (bytes) => void backlogs.push(bytes) });
}

const event = (seq: number, body = ''): StoredEvent => ({ topic: 'feed:alice', epoch: 'E1', seq, at: 1_000 + seq, data: { title: `t${seq}`, body, level: 'info' } });

function decodeAll(written: readonly Uint8Array[]): ServerFrame[] {
  return written.map((bytes) => {
    const decoded = codec.decodeServerFrame(bytes);
    if (!decoded.ok) throw new Error(decoded.message);
    return decoded.frame;
  });
}

describe('outbound stream events', () => {
  test('one event goes out as an event frame', async () => {
    const socket = fakeSocket();
    const out = outboundOn(socket, 64 * 1024);
    void out.sendEvents([event(1)]);
    expect(decodeAll(socket.written)).toEqual([{ t: 'event', topic: 'feed:alice', epoch: 'E1', seq: 1, at: 1_001, data: { title: 't1', body: '', level: 'info' } }]);
  });

  test.each([
    ['small frames', 2_000, 200, 4 * 1024],
    ['the default frame limit', 10_000, 100, 64 * 1024],
    ['more events than a batch may hold', 9_000, 0, 16 * 1024 * 1024],
  ])('many events with %s: every frame decodes and fits, in order, each once', (_name, count, bodySize, maxFrameBytes) => {
    const socket = fakeSocket();
    const out = outboundOn(socket, maxFrameBytes);
    const events = Array.from({ length: count }, (_, i) => event(i + 1, 'b'.repeat(bodySize)));
    void out.sendEvents(events);
    const big = createCodec({ maxFrameBytes: 16 * 1024 * 1024, maxArrayLength: MAX_BATCH_FRAMES });
    const frames = socket.written.map((bytes) => {
      expect(bytes.byteLength).toBeLessThanOrEqual(maxFrameBytes);
      const decoded = big.decodeServerFrame(bytes);
      if (!decoded.ok) throw new Error(decoded.message);
      return decoded.frame;
    });
    expect(frames.length).toBeGreaterThan(1);
    const seqs = frames.flatMap((f) => (f.t === 'batch' ? f.frames.map((e) => (e.t === 'event' ? e.seq : -1)) : f.t === 'event' ? [f.seq] : []));
    expect(seqs).toEqual(events.map((e) => e.seq));
    for (const frame of frames) if (frame.t === 'batch') expect(frame.frames.length).toBeLessThanOrEqual(MAX_BATCH_FRAMES);
  });

  test('a batch is byte-for-byte what encoding the batch frame gives', () => {
    const socket = fakeSocket();
    const out = outboundOn(socket, 64 * 1024);
    const events = [event(1), event(2), event(3)];
    void out.sendEvents(events);
    const expected = codec.encode({ t: 'batch', frames: events.map((e) => ({ t: 'event', topic: e.topic, epoch: e.epoch, seq: e.seq, data: e.data, at: e.at })) });
    expect(Buffer.from(socket.written[0]!)).toEqual(Buffer.from(expected));
  });

  test('an event bigger than the frame limit still goes out, alone', () => {
    const socket = fakeSocket();
    const out = outboundOn(socket, 1024);
    void out.sendEvents([event(1), event(2, 'x'.repeat(3000)), event(3)]);
    const frames = decodeAll(socket.written.map((b) => b)).map((f) => f.t);
    expect(frames).toEqual(['event', 'event', 'event']);
  });

  test('the promise settles once the last frame is written', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const socket = fakeSocket();
    const out = outboundOn(socket, 2 * 1024);
    let done = false;
    const written = out.sendEvents(Array.from({ length: 200 }, (_, i) => event(i + 1))).then(() => (done = true));
    expect(socket.callbacks).toHaveLength(1);
    // Every timer and promise callback there is has run; only the socket's callback is left.
    await vi.runAllTimersAsync();
    expect(done).toBe(false);
    socket.callbacks[0]!();
    await written;
    expect(done).toBe(true);
  });

  test('nothing is sent on a socket that is not open', async () => {
    const socket = fakeSocket();
    (socket.ws as { readyState: number }).readyState = WebSocket.CLOSING;
    const out = outboundOn(socket, 2 * 1024);
    await out.sendEvents([event(1)]);
    expect(socket.written).toEqual([]);
  });
});

describe('outbound backlog limit', () => {
  const LIMIT = 1024 * 1024;
  const shared = createServerFrames(codec, 64 * 1024);
  const states = Array.from({ length: 40 }, (_, i) => ({ t: 'state' as const, topic: `prices:S${i}`, value: { symbol: `S${i}`, price: 1, prev: 1, at: 1 }, at: 1 }));
  test.each<[string, (out: Outbound) => unknown]>([
    ['a single frame (an ack)', (out) => out.send({ t: 'ack', id: 'a', ok: true })],
    ['a snapshot (states prepared once for every socket)', (out) => out.sendPrepared(shared.pack(states.map((state) => shared.prepare(state)))[0]!)],
    ['a replay (events)', (out) => out.sendEvents([event(1), event(2)])],
    ['a live event', (out) => out.sendEvent(event(3))],
  ])('over the limit after %s: nothing more is written, and the client is handed over once, after the writer is done', async (_name, write) => {
    const socket = fakeSocket();
    const backlogs: number[] = [];
    const out = outboundOn(socket, 64 * 1024, backlogs);
    socket.setBuffered(LIMIT);
    write(out);
    await Promise.resolve();
    expect(backlogs).toEqual([]);
    expect(out.isOpen()).toBe(true);

    socket.setBuffered(LIMIT + 1);
    write(out);
    // Handed over on a microtask: the handler that wrote finishes first.
    expect(backlogs).toEqual([]);
    expect(out.isOpen()).toBe(false);
    await Promise.resolve();
    expect(backlogs).toEqual([LIMIT + 1]);
    const count = socket.written.length;
    write(out);
    out.send({ t: 'pong', at: 1 });
    await Promise.resolve();
    expect(socket.written).toHaveLength(count);
    expect(backlogs).toHaveLength(1);
  });

  test('a replay that crosses the limit stops writing the rest of its frames and settles', async () => {
    // A socket that holds 1000 bytes of backlog for every byte written: over the limit in a few frames.
    const socket = fakeSocket(1000);
    const backlogs: number[] = [];
    const out = outboundOn(socket, 1024, backlogs);
    await out.sendEvents(Array.from({ length: 200 }, (_, i) => event(i + 1, 'x'.repeat(200))));
    expect(socket.written.length).toBeLessThan(10);
    await Promise.resolve();
    expect(backlogs).toHaveLength(1);
  });
});
