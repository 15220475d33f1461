/**
 * The one error a networked store (Redis) throws when it cannot be reached or cannot take writes
 * right now, so the server can answer 503 (and `/healthz` can say why) instead of 500. The cause is
 * kept for the log; the message says what was refused. Anything else a store throws is a bug or bad
 * input and stays what it was.
 */

export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
  }
}

export const isStoreUnavailable = (error: unknown): error is StoreUnavailableError => error instanceof StoreUnavailableError;
