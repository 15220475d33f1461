/**
 * Turning away a socket that was upgraded but never became a client (the server or its address is
 * full): the `error` that says why, the close code, and a cut-off for a peer that does not answer
 * the close. The upgrade is completed rather than answered with an HTTP status so that a browser
 * sees the close code and reason (an HTTP refusal reaches a page's WebSocket as a bare 1006).
 */
import type { WebSocket } from 'ws';
import type { Codec } from '../../lib/wire/codec';
import type { Metrics } from '../metrics';
import type { CapRefusal } from './connection-caps';

export interface RefuseDeps {
  readonly codec: Pick<Codec, 'encode'>;
  readonly metrics: Pick<Metrics, 'connectionRefused'>;
  /** How long the peer has to answer the close before the socket is cut. */
  readonly graceMs: number;
}

export function refuseSocket(ws: WebSocket, refusal: CapRefusal, deps: RefuseDeps): void {
  deps.metrics.connectionRefused(refusal.metric);
  // A peer resetting meanwhile must not surface as an unhandled 'error' event.
  ws.on('error', () => {});
  ws.send(deps.codec.encode(refusal.error));
  ws.close(refusal.closeCode, refusal.closeReason);
  const cut = setTimeout(() => ws.terminate(), deps.graceMs);
  cut.unref();
  ws.once('close', () => clearTimeout(cut));
}
