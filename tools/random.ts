/**
 * A small seeded PRNG (mulberry32) for the bootstrap and for tests: the same seed gives the same
 * numbers on every machine.
 *
 * @module
 */

/**
 * Returns a function giving numbers in [0, 1) from `seed`.
 *
 * @example
 * ```ts
 * const r = seededRandom(1);
 * r(); // the same first number on every machine
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
