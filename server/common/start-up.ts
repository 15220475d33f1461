/**
 * Start-up that fails part way releases what it had opened, newest first, and then reports why it
 * failed: a node that cannot reach Redis, or whose port is taken, leaves no connection, file or
 * timer behind. Once start-up is over, the server's own shutdown takes over.
 */
export interface StartUp {
  /** Opens a part; if that fails, everything opened before it is closed and the error rethrown. */
  open<T>(open: () => Promise<T>, close: (part: T) => Promise<void> | void): Promise<T>;
  /** Closes everything opened so far, newest first, then rethrows `error`. */
  fail(error: unknown): Promise<never>;
}

export function createStartUp(onCloseError: (error: unknown) => void): StartUp {
  const closers: Array<() => Promise<void> | void> = [];
  async function fail(error: unknown): Promise<never> {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (closeError) {
        onCloseError(closeError);
      }
    }
    throw error;
  }
  return {
    async open(open, close) {
      let part;
      try {
        part = await open();
      } catch (error) {
        return fail(error);
      }
      closers.push(() => close(part));
      return part;
    },
    fail,
  };
}
