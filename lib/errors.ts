/**
 * Errors as data. Expected failures (server gone, rejected input) travel as `{name, message}` so
 * they cross Comlink and extension messaging unchanged; `throw` is kept for bugs.
 */

export interface ErrorData {
  readonly name: string;
  readonly message: string;
}

/** A result that either holds a value or says what went wrong. */
export type Result<T, E = ErrorData> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = (name: string, message: string): Result<never> => ({ ok: false, error: { name, message } });

/** The view-side error for a call whose hub connection went away before it answered. */
export class HubDisconnectedError extends Error {
  override readonly name = 'HubDisconnectedError';
}

/** Turns anything thrown into `ErrorData`, for logging and for crossing a boundary. */
export function toErrorData(error: unknown): ErrorData {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
