/**
 * Identifiers and their only constructors: message ids (branded, so a raw string from the wire or a
 * view never reaches the outbox unchecked), user names and ticker symbols. Topic names and their
 * `TopicId` brand are in `./topics`.
 */

declare const brand: unique symbol;
/** `T` that only this project's constructors make (`as` casts live beside each brand's parser). */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A client-made idempotency id for a client message (UUID v4 text). */
export type MessageId = Brand<string, 'MessageId'>;

/** Ticker symbols: upper-case letters, digits, `.` and `-`, 1 to 12 characters. */
export const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9.-]{0,11}$/;
const USER_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

/** True for user names the server accepts in `feed:<user>`, `alerts:<user>` and tokens. */
export function isUserName(input: unknown): input is string {
  return typeof input === 'string' && USER_PATTERN.test(input);
}

/** A fresh idempotency id for a client message. */
export function newMessageId(): MessageId {
  return crypto.randomUUID() as MessageId;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Validates a message id received from elsewhere (a view, the wire). */
export function parseMessageId(input: unknown): MessageId | null {
  return typeof input === 'string' && UUID_PATTERN.test(input) ? (input as MessageId) : null;
}
