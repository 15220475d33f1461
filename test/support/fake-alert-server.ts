/**
 * The server's side of client messages, scripted for unit tests over the fake socket: it applies
 * `send` frames in the order they arrived on each socket, each id at most once (a repeat is answered
 * from its record, as `server/alerts/service.ts` does), refuses what the alerts as they are do not
 * allow (a second create of an alert, a pause or delete of one it does not hold), and keeps the
 * order it applied messages in. The test decides how many of the frames that reached it are
 * handled and how many of the answers get back before a cut.
 */
import type { ClientFrame, FrameOf, ServerFrame } from '../../lib/wire/protocol';
import type { FakeSocket } from './fake-socket';

type Send = FrameOf<ClientFrame, 'send'>;
type Ack = FrameOf<ServerFrame, 'ack'>;

export interface FakeAlertServer {
  /** Message ids in the order they were applied (each at most once). */
  readonly applied: string[];
  /** Frames that reached the server (all of them unless `arrived` says fewer), not yet handled. */
  pending(socket: FakeSocket): Send[];
  /**
   * Handles the first `count` pending frames of `socket` (default all) in order and returns their
   * acks, not yet delivered: `deliver` hands them to the hub.
   */
  handle(socket: FakeSocket, count?: number): Ack[];
  /** Hands acks to the hub, in order. */
  deliver(socket: FakeSocket, acks: readonly Ack[]): void;
}

export function createFakeAlertServer(): FakeAlertServer {
  const applied: string[] = [];
  const records = new Map<string, Ack>();
  const alerts = new Set<string>();
  const handled = new Map<FakeSocket, number>();

  function decide(frame: Send): Ack {
    const recorded = records.get(frame.id);
    if (recorded) return recorded;
    const alertId = (frame.body as { alertId: string }).alertId;
    const exists = alerts.has(alertId);
    const refuse = (message: string): Ack => ({ t: 'ack', id: frame.id, ok: false, error: { code: 'invalid', message } });
    if (frame.kind === 'alert.create' && exists) return refuse(`Alert ${alertId} already exists`);
    if (frame.kind !== 'alert.create' && !exists) return refuse(`Unknown alert ${alertId}`);
    if (frame.kind === 'alert.create') alerts.add(alertId);
    if (frame.kind === 'alert.delete') alerts.delete(alertId);
    const ack: Ack = { t: 'ack', id: frame.id, ok: true };
    records.set(frame.id, ack);
    applied.push(frame.id);
    return ack;
  }

  const pending = (socket: FakeSocket): Send[] => socket.sentOf('send').slice(handled.get(socket) ?? 0);

  return {
    applied,
    pending,
    handle(socket, count) {
      const frames = pending(socket).slice(0, count);
      handled.set(socket, (handled.get(socket) ?? 0) + frames.length);
      return frames.map(decide);
    },
    deliver(socket, acks) {
      for (const ack of acks) socket.receive(ack);
    },
  };
}
