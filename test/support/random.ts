/**
 * The one seeded random source of the tests and benchmarks: mulberry32 (public domain, Tommy
 * Ettinger, https://gist.github.com/tommyettinger/46a874533244883189143505d203312c). Seeded, so a
 * fuzz or property run that fails can be replayed and a benchmark measures the same work each time.
 */

/** Uniform in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
