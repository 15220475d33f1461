/**
 * The one error a shared store (Redis) throws when it cannot be reached right now: the HTTP layer
 * answers it with 503 and its message, the server carries on, and the caller may try again later.
 * Nothing was changed by the call that failed with it, or the store cannot say (then the retry
 * is safe: every write that can fail this way is idempotent or refused as a repeat).
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const isStoreUnavailable = (error: unknown): error is StoreUnavailableError => error instanceof StoreUnavailableError;
