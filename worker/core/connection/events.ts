/**
 * The connection's two callbacks, to be given their listeners later: the composition root creates
 * the connection before the parts that hear from it (it stays idle, and calls neither, until it is
 * configured) and attaches the listeners once those parts exist.
 */
import type { ServerFrame } from '../../../lib/wire/protocol';
import type { Transition } from './state';

export interface ConnectionListeners {
  onTransition(change: Transition): void;
  onFrame(frame: ServerFrame): void;
}

export interface ConnectionEvents extends ConnectionListeners {
  /** Sets the listeners every later callback goes to. */
  attach(listeners: ConnectionListeners): void;
}

export function createConnectionEvents(): ConnectionEvents {
  let listeners: ConnectionListeners | null = null;
  return {
    onTransition: (change) => listeners?.onTransition(change),
    onFrame: (frame) => listeners?.onFrame(frame),
    attach(next) {
      listeners = next;
    },
  };
}
