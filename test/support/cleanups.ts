/**
 * Teardown for integration tests: what a test starts it hands to `onCleanup`, and after the test
 * every cleanup runs, newest first. `until` polls (real timers) and stops once teardown has begun,
 * so a test that timed out does not keep polling. Call `useCleanups()` once in the file.
 */
import { afterEach } from 'vitest';
import { startTestServer, type TestServer } from './server';

let stopped = false;
const cleanups: Array<() => Promise<void> | void> = [];

export function useCleanups(): void {
  afterEach(async () => {
    stopped = true;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    stopped = false;
  });
}

/** Runs `cleanup` after this test, before the cleanups registered earlier. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

/** Polls every 10 ms until `probe` returns something other than `undefined`/`false`; the test timeout bounds the wait. */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (stopped) throw new Error(`stopped while waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `startTestServer(options)`, closed after the test. */
export async function serve(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const server = await startTestServer(options);
  onCleanup(() => server.close());
  return server;
}
