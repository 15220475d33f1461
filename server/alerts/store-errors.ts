/**
 * What an alert store refuses with, changing nothing: each is an expected outcome the service
 * answers (from the record, by deciding again, or by stopping), never a failure of the store.
 */

/** The message id was applied before (here or on another node): its ack is in the record (`findAck`). */
export class DuplicateMessageError extends Error {
  override readonly name = 'DuplicateMessageError';
  constructor(
    readonly user: string,
    readonly messageId: string,
  ) {
    super(`Message ${messageId} of ${user} was already applied`);
  }
}

/** The user's alerts changed since the revision the message was decided against: decide again. */
export class StaleRevisionError extends Error {
  override readonly name = 'StaleRevisionError';
  constructor(
    readonly user: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`The alerts of ${user} are at revision ${actual}, not ${expected}: decide the message again`);
  }
}

/** The alert id belongs to another user's alert: ids are unique across users. */
export class AlertIdTakenError extends Error {
  override readonly name = 'AlertIdTakenError';
  constructor(readonly alertId: string) {
    super(`Alert ${alertId} belongs to another user`);
  }
}

/** A write under a lease fence that is no longer the current one: another node holds the lease now. */
export class FencedOffError extends Error {
  override readonly name = 'FencedOffError';
  constructor(
    readonly fence: number,
    readonly current: number | undefined,
  ) {
    super(`Fence ${fence} is stale (the lease is at ${current ?? 'none'}): another node evaluates alerts now`);
  }
}
