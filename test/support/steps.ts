/**
 * The steps of an end-to-end scenario that later tests stand on. A step runs once, the first time a
 * test asks for it, and every later call gets the same outcome (a failed step fails each test that
 * stands on it). A test awaits the steps it needs before its own, so it passes when run alone
 * (`vitest run --project e2e <file> -t "<name>"`) as well as after the tests before it.
 */
export function step<T>(run: () => Promise<T>): () => Promise<T> {
  let outcome: Promise<T> | undefined;
  return () => (outcome ??= run());
}
