/**
 * Block-bootstrap statistics for `compare`: percentiles of runs cut into resampling units
 * (blocks), and confidence intervals of their differences. Pure: no I/O; the same seed gives the
 * same intervals on every machine.
 *
 * Requests of one second share the moment's conditions (GC pauses, a busy neighbour), so single
 * requests are not independent: a steady run's blocks are its seconds. Cold-connection attempts
 * are independent and are blocks of one.
 *
 * @module
 */
import {
  type Bucket,
  bucketsOf,
  bucketTop,
  percentileRank,
  toMicros,
} from "../../smft/histogram.ts";
import type { Accumulator } from "../../smft/summary.ts";
import { seededRandom } from "../random.ts";

/** One resampling unit: the buckets of its values, their count and exact maximum (µs). */
export interface Block {
  buckets: Bucket[];
  count: number;
  maxUs: number;
}

/**
 * The blocks of a steady run: its seconds of successful response times (empty ones left out).
 *
 * @example
 * ```ts
 * blocksOfSeconds(file.acc).length; // 60 for a 60 s run
 * ```
 */
export function blocksOfSeconds(acc: Accumulator): Block[] {
  return [...acc.seconds.entries()].sort((x, y) => x[0] - y[0])
    .filter(([, sec]) => sec.latency.count > 0)
    .map(([, sec]) => ({
      buckets: bucketsOf(sec.latency.hist),
      count: sec.latency.count,
      maxUs: sec.latency.maxUs,
    }));
}

/**
 * Blocks of `size` consecutive values (ms), in the order given. Each value is put in the bucket
 * a histogram would, so that percentiles read as the summary's do.
 *
 * @example
 * ```ts
 * blocksOfValues([1, 2, 3, 4, 5], 2).map((b) => b.count); // [2, 2, 1]
 * blocksOfValues(attemptTimesMs, 1); // one block per attempt
 * ```
 */
export function blocksOfValues(valuesMs: ArrayLike<number>, size: number): Block[] {
  const out: Block[] = [];
  for (let start = 0; start < valuesMs.length; start += size) {
    const counts = new Map<number, number>();
    let maxUs = 0;
    const stop = Math.min(start + size, valuesMs.length);
    for (let i = start; i < stop; i++) {
      const us = toMicros(valuesMs[i]);
      const top = bucketTop(us);
      counts.set(top, (counts.get(top) ?? 0) + 1);
      if (us > maxUs) maxUs = us;
    }
    const buckets = [...counts.entries()].sort((x, y) => x[0] - y[0])
      .map(([topUs, count]) => ({ topUs, count }));
    out.push({ buckets, count: stop - start, maxUs });
  }
  return out;
}

/** Options of `bootstrapDiff`. */
export interface BootstrapOptions {
  /** Resamples of each run. @default 1000 */
  resamples?: number;
  /** Seed of the PRNG. @default 1 */
  seed?: number;
  /** Confidence level of the intervals. @default 0.95 */
  confidence?: number;
}

/** Verdict on one percentile. */
export type CompareVerdict =
  | "B slower"
  | "B faster"
  | "no significant difference"
  | "too little data";

/** Percentile `p` of A and B, B − A, and its confidence interval; all in ms. */
export interface PercentileDiff {
  p: number;
  a: number | null;
  b: number | null;
  diff: number | null;
  lo: number | null;
  hi: number | null;
  verdict: CompareVerdict;
}

/**
 * Percentiles `ps` of two runs given as blocks, the difference B − A and a percentile-bootstrap
 * confidence interval of it: each resample draws as many blocks as the run has, with replacement.
 * Percentiles follow the summary's definition exactly (same ranks, bucket tops, capped at the
 * exact maximum), so the point figures equal the summary's. Needs two blocks a side at least.
 *
 * @example
 * ```ts
 * const [p99] = bootstrapDiff(blocksOfSeconds(a), blocksOfSeconds(b), [99], { seed: 1 });
 * p99.verdict; // "B slower" when the whole interval [p99.lo, p99.hi] is above 0
 * ```
 */
export function bootstrapDiff(
  a: Block[],
  b: Block[],
  ps: number[],
  opts: BootstrapOptions = {},
): PercentileDiff[] {
  const resamples = opts.resamples ?? 1000;
  const alpha = 1 - (opts.confidence ?? 0.95);
  const sorted = [...ps].sort((x, y) => x - y);
  const tops = [...new Set([...a, ...b].flatMap((blk) => blk.buckets.map((k) => k.topUs)))]
    .sort((x, y) => x - y);
  const index = new Map(tops.map((t, i) => [t, i]));
  const pack = (blocks: Block[]): Packed[] =>
    blocks.map((blk) => ({
      idx: Int32Array.from(blk.buckets, (k) => index.get(k.topUs)!),
      cnt: Float64Array.from(blk.buckets, (k) => k.count),
      count: blk.count,
      maxUs: blk.maxUs,
    }));
  const pa = pack(a);
  const pb = pack(b);
  const counts = new Float64Array(tops.length);
  const pointA = percentiles(pa, null, counts, tops, sorted);
  const pointB = percentiles(pb, null, counts, tops, sorted);

  const enough = pa.length >= 2 && pb.length >= 2;
  const diffs = sorted.map(() => new Float64Array(enough ? resamples : 0));
  if (enough) {
    const rng = seededRandom(opts.seed ?? 1);
    for (let r = 0; r < resamples; r++) {
      const ra = percentiles(pa, rng, counts, tops, sorted);
      const rb = percentiles(pb, rng, counts, tops, sorted);
      for (let i = 0; i < sorted.length; i++) diffs[i][r] = rb[i]! - ra[i]!;
    }
  }
  return ps.map((p) => {
    // Worked in integer microseconds so that differences carry no rounding noise.
    const i = sorted.indexOf(p);
    const va = pointA[i];
    const vb = pointB[i];
    const a = va === null ? null : va / 1000;
    const b = vb === null ? null : vb / 1000;
    const diff = va !== null && vb !== null ? (vb - va) / 1000 : null;
    if (diff === null || !enough) {
      return { p, a, b, diff, lo: null, hi: null, verdict: "too little data" };
    }
    const d = diffs[i].sort();
    const lo = d[Math.floor((alpha / 2) * resamples)];
    const hi = d[Math.ceil((1 - alpha / 2) * resamples) - 1];
    const verdict: CompareVerdict = lo > 0
      ? "B slower"
      : hi < 0
      ? "B faster"
      : "no significant difference";
    return { p, a, b, diff, lo: lo / 1000, hi: hi / 1000, verdict };
  });
}

/** A block with its buckets as indexes into the list of bucket tops both runs share. */
interface Packed {
  idx: Int32Array;
  cnt: Float64Array;
  count: number;
  maxUs: number;
}

/**
 * Percentiles (µs, ascending `ps`) of the blocks, all of them once when `rng` is null, else a
 * resample of as many blocks drawn with replacement. `counts` is scratch space, one per bucket.
 */
function percentiles(
  blocks: Packed[],
  rng: (() => number) | null,
  counts: Float64Array,
  tops: number[],
  ps: number[],
): (number | null)[] {
  counts.fill(0);
  let n = 0;
  let maxUs = 0;
  const m = blocks.length;
  for (let j = 0; j < m; j++) {
    const blk = blocks[rng === null ? j : Math.floor(rng() * m)];
    const { idx, cnt } = blk;
    for (let k = 0; k < idx.length; k++) counts[idx[k]] += cnt[k];
    n += blk.count;
    if (blk.maxUs > maxUs) maxUs = blk.maxUs;
  }
  if (n === 0) return ps.map(() => null);
  const out: number[] = [];
  let seen = 0;
  let k = 0;
  for (const p of ps) {
    const rank = percentileRank(p, n);
    while (seen + counts[k] < rank) seen += counts[k++];
    out.push(Math.min(tops[k], maxUs));
  }
  return out;
}
