/**
 * The one error a shared store (Redis) rejects with when it cannot be reached now: the socket is
 * down or reconnecting, a command got no answer in time, or Redis says it cannot serve (loading
 * its data, read-only replica, out of disk). The operation may or may not have happened; nothing
 * was acknowledged. Callers answer 503 and retry later; it is never a bug.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
  }
}
