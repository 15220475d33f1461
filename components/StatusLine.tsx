/**
 * The hub's connection status in words (`Connected`, `Reconnecting in 3s (…)`, `Offline`), from
 * `describeStatus` so every view says the same. While the hub waits to retry it re-renders every
 * second so the countdown moves.
 */
import { useEffect, useState } from 'preact/hooks';
import type { HubStatus } from '../lib/rpc/hub-api';
import { describeStatus, type StatusHost } from './status-text';

export interface StatusLineProps {
  /** `null` until the hub has answered. */
  readonly status: HubStatus | null;
  /** Wall clock in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Which fix a refused connection names (see `describeStatus`). Default `extension`. */
  readonly host?: StatusHost;
}

export function StatusLine({ status, now = Date.now, host = 'extension' }: StatusLineProps) {
  const [, setTick] = useState(0);
  const waiting = status?.s === 'waiting';
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => setTick((tick) => tick + 1), 1000);
    return () => clearInterval(timer);
  }, [waiting, status]);

  const state = status?.s ?? 'connecting';
  const text = status ? describeStatus(status, now(), host) : 'Connecting…';
  return (
    <p role="status" class={`status status-${state}`}>
      {text}
    </p>
  );
}
