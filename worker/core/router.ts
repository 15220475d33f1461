/**
 * Where each server frame goes once the connection has taken its own (`welcome`, `ping`, `pong`):
 * `state` values to the subscription registry, stream events to the streams, the answers to a
 * subscription by the topic's mode, acks to the outbox.
 */
import { modeOf } from '../../lib/wire/topics';
import { assertNever, type ServerFrame } from '../../lib/wire/protocol';
import type { Streams } from './feed/streams';
import type { Outbox } from './outbox/outbox';
import type { Logger } from './platform';
import type { Registry } from './sessions/registry';

export interface FrameRouterDeps {
  readonly registry: Pick<Registry, 'receive'>;
  readonly streams: Pick<Streams, 'receive'>;
  readonly outbox: Pick<Outbox, 'receive'>;
  readonly log: Logger;
}

/** The connection's `onFrame`: hands each frame to the part that takes it. */
export function createFrameRouter(deps: FrameRouterDeps): (frame: ServerFrame) => void {
  const { registry, streams, outbox, log } = deps;
  return (frame) => {
    switch (frame.t) {
      case 'state':
        return registry.receive(frame);
      case 'event':
        return streams.receive(frame);
      case 'batch':
        // Each takes its own frames: `state` values for the registry, events for the streams.
        registry.receive(frame);
        return streams.receive(frame);
      case 'subscribed':
      case 'unsubscribed':
      case 'error':
        return modeOf(frame.topic) === 'stream' ? streams.receive(frame) : registry.receive(frame);
      case 'ack':
        return outbox.receive(frame);
      case 'refreshed':
        // Token refresh over the open socket arrives with auth; nothing sends `refresh` yet.
        return log.info('token refreshed', { user: frame.user });
      case 'welcome':
      case 'ping':
      case 'pong':
        return; // The connection handles these itself.
      default:
        return assertNever(frame);
    }
  };
}
