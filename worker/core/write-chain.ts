/**
 * Writes that commit in the order they were asked for: each starts once every earlier one has
 * settled, so a late write can never undo a newer one (a put never lands after its removal).
 */

export interface WriteChain {
  /** Runs `write` after every earlier write; the returned promise settles with it. */
  run<T>(write: () => Promise<T>): Promise<T>;
  /** Resolves once every write asked for so far, and any asked for meanwhile, has settled. */
  idle(): Promise<void>;
}

export function createWriteChain(): WriteChain {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    run(write) {
      const result = chain.then(write);
      chain = result.catch(() => {});
      return result;
    },
    async idle() {
      for (let seen: Promise<unknown> | null = null; seen !== chain; ) {
        seen = chain;
        await chain;
      }
    },
  };
}
