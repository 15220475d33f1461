/**
 * Group commit: writes submitted while the previous commit runs (or within one turn of the event
 * loop) share the next commit, so one fsync makes a whole group durable, and each submitter is
 * answered only once its group committed. Groups commit one at a time, in submission order, so the
 * order of submissions is the order of commits. A group's commit is all or nothing: if it throws,
 * every submission in it is rejected with that error (the commit must leave none of them applied),
 * and the groups after it go ahead.
 *
 * This is what databases call group commit (PostgreSQL's `commit_delay`, InnoDB's binlog group
 * commit), without their delay: a group is whatever is waiting when the previous one is done.
 */

/** How a group commits; see `createGroupCommitter`. */
export interface GroupCommitOptions<I, R> {
  /**
   * Commits every item in one transaction and returns one result per item, in order. Throwing or
   * rejecting fails the whole group and must leave none of its items applied. May be synchronous.
   */
  readonly commit: (items: readonly I[]) => readonly R[] | Promise<readonly R[]>;
  /** Most items in one group; more wait for the next. Default `DEFAULT_MAX_GROUP`. */
  readonly maxGroup?: number;
  /**
   * Runs the next group's commit soon. Default `setImmediate`: after the I/O callbacks of the
   * current turn of the event loop, so the requests that arrived together share a commit, and
   * without a timer's delay.
   */
  readonly schedule?: (flush: () => void) => void;
}

export interface GroupCommitter<I, R> {
  /** Queues `item` for the next group; resolves with its result once that group committed. */
  submit(item: I): Promise<R>;
  /** Resolves once every item submitted so far has committed or failed. */
  drained(): Promise<void>;
}

/**
 * Items per group unless told otherwise. A synchronous commit holds the event loop for the whole
 * group: 512 appends take a few milliseconds, and past a few dozen the fsync is already shared
 * well enough that bigger groups gain little.
 */
export const DEFAULT_MAX_GROUP = 512;

interface Waiting<I, R> {
  readonly item: I;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export function createGroupCommitter<I, R>(options: GroupCommitOptions<I, R>): GroupCommitter<I, R> {
  const maxGroup = options.maxGroup ?? DEFAULT_MAX_GROUP;
  if (!Number.isSafeInteger(maxGroup) || maxGroup < 1) throw new RangeError(`maxGroup must be a positive integer, got ${maxGroup}`);
  const schedule = options.schedule ?? ((flush: () => void) => void setImmediate(flush));
  let queue: Waiting<I, R>[] = [];
  /** A flush is scheduled or its commit is running: the next one waits for it. */
  let busy = false;
  let idle: Array<() => void> = [];

  function kick(): void {
    if (busy) return;
    if (queue.length === 0) {
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
      return;
    }
    busy = true;
    schedule(() => void flush());
  }

  async function flush(): Promise<void> {
    const group = queue.length <= maxGroup ? queue : queue.slice(0, maxGroup);
    queue = queue.length <= maxGroup ? [] : queue.slice(maxGroup);
    try {
      const results = await options.commit(group.map((w) => w.item));
      if (results.length !== group.length) throw new Error(`A group commit returned ${results.length} results for ${group.length} items`);
      group.forEach((w, i) => w.resolve(results[i]!));
    } catch (error) {
      for (const w of group) w.reject(error);
    } finally {
      busy = false;
      kick();
    }
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        kick();
      });
    },
    drained() {
      if (!busy && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
