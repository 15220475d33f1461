/**
 * Teardown for integration tests: what a test starts it hands to `onCleanup`, and after the test
 * every cleanup runs, newest first. `until` is `poll` bound to that teardown: it stops once teardown
 * has begun, so a test that timed out does not keep probing what is being closed. Call
 * `useCleanups()` once in the file.
 */
import { afterEach } from 'vitest';
import { poll, type Probe } from './poll';
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

/** `poll(what, probe)` for this test: gives up when its teardown begins (or after `poll`'s timeout). */
export function until<T>(what: string, probe: Probe<T>): Promise<T> {
  return poll(what, probe, { stopped: () => stopped });
}

/** `startTestServer(options)`, closed after the test. */
export async function serve(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const server = await startTestServer(options);
  onCleanup(() => server.close());
  return server;
}
