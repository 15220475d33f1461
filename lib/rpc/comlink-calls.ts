/**
 * What the hub's Comlink endpoints (`./runtime-port-endpoint` over a `runtime.Port`,
 * `./message-port-endpoint` over a `MessagePort`) add to Comlink the same way: telling requests
 * from answers, and keeping the requests still waiting for an answer so that each one that times
 * out, or is left when the link closes, is answered with a synthesised `HubDisconnectedError`.
 */

/** Comlink's request types; everything else that carries an `id` is an answer. */
const REQUEST_TYPES: ReadonlySet<unknown> = new Set(['GET', 'SET', 'APPLY', 'CONSTRUCT', 'ENDPOINT', 'RELEASE']);

const fieldsOf = (message: unknown): Record<string, unknown> =>
  typeof message === 'object' && message !== null ? (message as Record<string, unknown>) : {};

/** The id of a Comlink request, or `null` for anything else. */
export function requestId(message: unknown): string | null {
  const { id, type } = fieldsOf(message);
  return typeof id === 'string' && REQUEST_TYPES.has(type) ? id : null;
}

/** The id of a Comlink answer, or `null` for anything else. */
export function answerId(message: unknown): string | null {
  const { id, type } = fieldsOf(message);
  return typeof id === 'string' && !REQUEST_TYPES.has(type) ? id : null;
}

/** Comlink's wire form of a thrown error, which makes the waiting call reject with an error of that `name`. */
export function errorAnswer(id: string, name: string, message: string): Record<string, unknown> {
  return { id, type: 'HANDLER', name: 'throw', value: { isError: true, value: { name, message } } };
}

/** The answer that makes a waiting call reject with `HubDisconnectedError`. */
export function thrownAnswer(id: string, message: string): Record<string, unknown> {
  return errorAnswer(id, 'HubDisconnectedError', message);
}

/** The requests sent and not yet answered. */
export interface PendingCalls {
  /** A request was sent: it times out after `timeoutMs`, if set. */
  track(id: string): void;
  /** An answer arrived: its request (if any) is no longer waiting. */
  settle(id: string): void;
  /** The link closed: every waiting request is answered with `reason`. */
  rejectAll(reason: string): void;
}

/** `answerWithError(id, reason)` delivers `thrownAnswer(id, reason)` to the waiting side. */
export function createPendingCalls(answerWithError: (id: string, reason: string) => void, timeoutMs?: number): PendingCalls {
  const pending = new Map<string, ReturnType<typeof setTimeout> | undefined>();
  return {
    track(id) {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              pending.delete(id);
              answerWithError(id, `no answer from the hub within ${timeoutMs} ms`);
            }, timeoutMs);
      pending.set(id, timer);
    },
    settle(id) {
      if (!pending.has(id)) return;
      clearTimeout(pending.get(id));
      pending.delete(id);
    },
    rejectAll(reason) {
      for (const [id, timer] of pending) {
        clearTimeout(timer);
        answerWithError(id, reason);
      }
      pending.clear();
    },
  };
}
