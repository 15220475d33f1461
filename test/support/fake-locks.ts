/**
 * An in-memory Web Locks manager with the exclusive-lock semantics the tab-release logic relies on:
 * a request is granted when nobody holds the name, the holder keeps it until its callback's promise
 * settles, and waiting requests are granted in order. `drop(name)` plays the browser ending the
 * holder's document (a closed tab), which releases its lock whatever its callback was doing.
 */

interface Request {
  readonly callback: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export interface FakeLocks {
  request(name: string, callback: () => unknown): Promise<unknown>;
  /** Names held right now. */
  held(): string[];
  /** Requests waiting for `name`. */
  waiting(name: string): number;
  /** Releases `name` as if its holder's document went away, granting the next request. */
  drop(name: string): void;
}

export function createFakeLocks(): FakeLocks {
  const holders = new Map<string, Request>();
  const queues = new Map<string, Request[]>();

  function grantNext(name: string): void {
    const next = queues.get(name)?.shift();
    if (!next) return;
    holders.set(name, next);
    let result: unknown;
    try {
      result = next.callback();
    } catch (error) {
      holders.delete(name);
      next.reject(error);
      grantNext(name);
      return;
    }
    void Promise.resolve(result).then(
      (value) => {
        if (holders.get(name) !== next) return;
        holders.delete(name);
        next.resolve(value);
        grantNext(name);
      },
      (error: unknown) => {
        if (holders.get(name) !== next) return;
        holders.delete(name);
        next.reject(error);
        grantNext(name);
      },
    );
  }

  return {
    request(name, callback) {
      return new Promise((resolve, reject) => {
        const queue = queues.get(name) ?? [];
        queues.set(name, queue);
        queue.push({ callback, resolve, reject });
        if (!holders.has(name)) grantNext(name);
      });
    },
    held: () => [...holders.keys()],
    waiting: (name) => queues.get(name)?.length ?? 0,
    drop(name) {
      if (!holders.delete(name)) return;
      grantNext(name);
    },
  };
}
