/**
 * Refusals the hub remembers across restarts. When the server refused the connection for good (a
 * close the table says not to reconnect after: origin not allowed, token refused or expired,
 * another protocol version), asking again with the same settings gets the same answer; but a
 * background that starts again would ask at once, and Chrome starts an idle extension's service
 * worker again every 30 s (the wake alarm), which made a refused hub knock about twice a minute
 * for good. So the hub keeps a fingerprint of the settings refused, with the close code and reason,
 * and a start with those settings stays closed with them; saving settings asks again, and opening
 * forgets the refusal. The store is declared here and implemented on IndexedDB by
 * `worker/store/refusal-store.ts`.
 */
import { closeRule, CloseCode } from '../../../lib/wire/close-codes';
import { PROTOCOL_VERSION } from '../../../lib/wire/protocol';
import type { Settings } from '../../../lib/rpc/settings';
import type { Clock, Logger } from '../platform';
import type { Transition } from './state';

/** The last lasting refusal: for which settings (`fingerprint`), with the code and words the server gave. */
export interface StoredRefusal {
  readonly fingerprint: string;
  readonly code: number;
  readonly reason: string;
  /** When it was refused (ms). */
  readonly at: number;
}

export interface RefusalStore {
  get(): Promise<StoredRefusal | null>;
  /** Replaces the stored refusal; resolves once committed. */
  put(refusal: StoredRefusal): Promise<void>;
  clear(): Promise<void>;
}

/** A remembered refusal as the connection takes it. */
export interface Refusal {
  readonly code: number;
  readonly reason: string;
}

export interface Refusals {
  /** The remembered refusal of exactly these settings, or `null` (also when it cannot be read within `RECALL_TIMEOUT_MS`). */
  recall(settings: Settings): Promise<Refusal | null>;
  /** Every connection transition, with the settings in force: a lasting refusal is remembered, an open forgets it. */
  follow(change: Transition, settings: Settings): void;
  /** Resolves once every write so far committed (or failed, logged). */
  idle(): Promise<void>;
}

/** How long a start waits to read the remembered refusal before it connects anyway (a blocked database). */
export const RECALL_TIMEOUT_MS = 1000;

/**
 * Hex SHA-256 of the protocol version, server URL and token: which settings were refused, without
 * keeping the token twice. The version is in it because a hub that speaks another one (after an
 * update) may well be accepted where this one was refused with 4001.
 */
export async function settingsFingerprint(settings: Settings): Promise<string> {
  const bytes = new TextEncoder().encode(`${PROTOCOL_VERSION}\n${settings.serverUrl}\n${settings.token}`);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** A close from the server the hub does not reconnect after (the hub's own 4100 is not a refusal). */
export function isLastingRefusal(code: number | undefined): code is number {
  return code !== undefined && code !== CloseCode.clientClosing && !closeRule(code).reconnect;
}

export function createRefusals(deps: { readonly store: RefusalStore; readonly clock: Clock; readonly log: Logger }): Refusals {
  const { store, clock, log } = deps;
  /** Writes in the order the transitions happened, so a refusal and the open after it land in that order. */
  let writes: Promise<void> = Promise.resolve();
  const write = (what: string, work: () => Promise<void>): void => {
    writes = writes.then(work).catch((error: unknown) => log.warn(`could not ${what}`, { error: String(error) }));
  };

  return {
    async recall(settings) {
      let timer: unknown;
      const late = new Promise<null>((resolve) => (timer = clock.setTimeout(() => resolve(null), RECALL_TIMEOUT_MS)));
      const read = (async () => {
        const stored = await store.get();
        if (!stored || stored.fingerprint !== (await settingsFingerprint(settings))) return null;
        return { code: stored.code, reason: stored.reason };
      })().catch((error: unknown) => {
        log.warn('could not read the remembered refusal; connecting', { error: String(error) });
        return null;
      });
      try {
        return await Promise.race([read, late]);
      } finally {
        clock.clearTimeout(timer);
      }
    },
    follow({ to }, settings) {
      if (to.s === 'open') return write('forget a refusal', () => store.clear());
      if (to.s !== 'closed' || !isLastingRefusal(to.code)) return;
      const { code, reason } = to;
      const at = clock.now();
      write('remember a refusal', async () => store.put({ fingerprint: await settingsFingerprint(settings), code, reason, at }));
    },
    idle: () => writes,
  };
}
