/**
 * Whether a user's alert list still fits one `alerts:<user>` state frame, asked before every change
 * that adds to it. Encoding the whole list each time cost more than applying the change (a flush of
 * a thousand messages against a hundred alerts encoded a hundred thousand alerts), so the size is
 * summed instead: the frame with an empty list, plus each alert's encoded size (an alert is
 * immutable, so its size is measured once and kept while it is held), plus how much longer the
 * array's msgpack header grows for the count. Exactly the encoded size, as `frame-fit.test.ts`
 * checks against the encoder.
 */
import type { AlertsState, ServerAlert } from '../../lib/wire/alerts';
import type { Codec } from '../../lib/wire/codec';
import type { StateFrame } from '../../lib/wire/protocol';
import { MAX_TOPIC_LENGTH } from '../../lib/wire/topics';
import { arrayHeader } from '../clients/frames';

/** How much longer the msgpack array header of `count` items is than the empty array's. */
const headerGrowth = (count: number): number => arrayHeader(count).byteLength - 1;

export interface AlertsFrameFit {
  /** The encoded size of `state` in a `state` frame on the longest topic the protocol allows, sent at `at`. */
  bytes(state: AlertsState, at: number): number;
  /** Whether that size is at most `maxFrameBytes`. */
  fits(state: AlertsState, at: number): boolean;
}

export function createAlertsFrameFit(codec: Pick<Codec, 'encode'>, maxFrameBytes: number): AlertsFrameFit {
  // As long as the longest topic name the protocol allows, so the check holds for every user.
  const topic = 'x'.repeat(MAX_TOPIC_LENGTH);
  const frameBytes = (alerts: readonly ServerAlert[], at: number): number => {
    const frame = { t: 'state', topic, value: { alerts }, at } as StateFrame;
    return codec.encode(frame).byteLength;
  };
  const empty = frameBytes([], 0);
  const sizes = new WeakMap<ServerAlert, number>();
  const sizeOf = (alert: ServerAlert): number => {
    let size = sizes.get(alert);
    if (size === undefined) sizes.set(alert, (size = frameBytes([alert], 0) - empty));
    return size;
  };
  const bytes = (state: AlertsState, at: number): number => {
    let total = frameBytes([], at) + headerGrowth(state.alerts.length);
    for (const alert of state.alerts) total += sizeOf(alert);
    return total;
  };
  return { bytes, fits: (state, at) => bytes(state, at) <= maxFrameBytes };
}
