/**
 * Values that came from a client or an admin request: whether one is a plain object, how to name
 * it in an error, and how to keep text sent back within its limit.
 */

export type Fields = Readonly<Record<string, unknown>>;

/** A JSON object (not null, not an array). */
export const isFields = (input: unknown): input is Fields => input !== null && typeof input === 'object' && !Array.isArray(input);

/** Names a rejected value without trusting it (it may be huge, or not JSON-serialisable); strings are cut to `maxChars`. */
export function describe(value: unknown, maxChars: number): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, maxChars));
  if (typeof value === 'number') return String(value);
  if (value === undefined) return '(missing)';
  return value === null ? 'null' : `of type ${typeof value}`;
}

/** `text` cut to at most `max` characters, an ellipsis marking the cut. */
export const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
