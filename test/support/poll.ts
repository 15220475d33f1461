/**
 * The tests' one polling loop, for the waits that vitest's `vi.waitFor` / `expect.poll` do not fit:
 * page objects and browser, server and process helpers (which wait outside any assertion and must
 * name what they waited for), and the hub unit tests, whose fake timers must not move while they
 * wait. `poll` re-runs a probe until it returns something other than `undefined`/`false`, and
 * fails after a timeout naming what it waited for. It waits on state, never for an amount of time:
 * the pause only spaces the checks. Inside a browser page, Playwright's and puppeteer's own waits
 * (`waitForFunction`, locators) come first: they re-check on the page's events.
 */

// Taken when this module loads, before a test installs fake timers: a wait must neither stall on a
// frozen clock nor move a fake one.
const realSetTimeout = globalThis.setTimeout;
const realSetImmediate = globalThis.setImmediate;
const realNow = performance.now.bind(performance);

export interface PollOptions {
  /** Gives up after this many ms of real time. Default 30 000. */
  readonly timeoutMs?: number;
  /** What passes between two checks. Default 20 ms of real time; `nextTurn` where fake timers run. */
  readonly pause?: () => Promise<void>;
  /** Checked before each pause: once it returns true the wait rejects (e.g. the test's teardown began). */
  readonly stopped?: () => boolean;
}

/** What a probe says: a value ends the wait; `undefined` or `false` means not yet. */
export type Probe<T> = () => T | undefined | false | Promise<T | undefined | false>;

/** One turn of the event loop (`setImmediate`, which the hub tests' fake timers leave real and fake-indexeddb runs on). */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => realSetImmediate(resolve));

/**
 * Re-runs `probe` until it returns a value other than `undefined`/`false`, and resolves with it.
 * Rejects after `timeoutMs` with `gave up after … ms waiting for <what>`; `what` may be a function,
 * read then, to say what was seen instead. A probe that throws ends the wait with its error.
 */
export async function poll<T>(what: string | (() => string), probe: Probe<T>, options: PollOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pause = options.pause ?? (() => new Promise<void>((resolve) => realSetTimeout(resolve, 20)));
  const describe = (): string => (typeof what === 'string' ? what : what());
  const deadline = realNow() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (options.stopped?.()) throw new Error(`stopped while waiting for ${describe()}`);
    if (realNow() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${describe()}`);
    await pause();
  }
}
