/**
 * HdrHistogram in integer microseconds, 3 significant digits, WebAssembly-backed: ~20 ns per
 * value, percentiles within 0.1 %, and a compressed base64 form (~2 KB) that merges exactly
 * across load hosts. The one place that knows how histograms are built, encoded and read.
 *
 * @module
 */
import * as hdr from "hdr-histogram-js";

export type Histogram = hdr.Histogram;

let wasmReady = false;

/** Loads the WebAssembly module, once. */
function initHistograms(): void {
  if (!wasmReady) {
    hdr.initWebAssemblySync();
    wasmReady = true;
  }
}

const HIGHEST_TRACKABLE_US_VALUE = 60_000_000;

const BUILD: hdr.BuildRequest = {
  bitBucketSize: 32,
  autoResize: true,
  lowestDiscernibleValue: 1,
  highestTrackableValue: HIGHEST_TRACKABLE_US_VALUE,
  numberOfSignificantValueDigits: 3,
};

/** A new histogram of microsecond values. Free it with `destroy()` when done. */
export function newHistogram(wasm = true): Histogram {
  if (wasm) initHistograms();
  // A JS histogram allocates counts up to highestTrackableValue at once (17,408 of them, 70 KB);
  // the per-second ones are many, so they start small and grow (autoResize) only if they must.
  const highestTrackableValue = wasm ? BUILD.highestTrackableValue : 2;
  return hdr.build({ ...BUILD, highestTrackableValue, useWebAssembly: wasm });
}

/** Milliseconds to the integer microseconds histograms hold (negative lag counts as 0). */
export function toMicros(ms: number): number {
  return ms <= 0 ? 0 : Math.round(ms * 1000);
}

/** Compressed base64, the form histograms travel in (`#END` lines, `--json`). */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/**
 * Reads a histogram written by `encodeHistogram`, hands it to `use`, then frees it. Throws on
 * malformed input.
 */
export function withDecoded(s: string, use: (h: Histogram) => void): void {
  initHistograms();
  const h = hdr.decodeFromCompressedBase64(s, 32, true);
  try {
    use(h);
  } finally {
    h.destroy();
  }
}

/** Distribution figures in milliseconds. */
export interface Stat {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

/**
 * Percentile definition: the value at rank ⌈p/100 × count⌉ of the sorted values (nearest rank),
 * as HdrHistogram reports it: exact below 2.048 ms, otherwise the top of its bucket, never more
 * than 0.1 % above the true value, and never above the exact maximum. `mean`, `min` and `max` are exact (kept beside the histogram).
 */
function statOf(h: Histogram, sumUs: number, minUs: number, maxUs: number): Stat {
  const n = h.totalCount;
  // A bucket's top can pass the largest value recorded; the exact max bounds it.
  const at = (p: number) => n === 0 ? 0 : Math.min(h.getValueAtPercentile(p), maxUs) / 1000;
  return {
    count: n,
    mean: n === 0 ? 0 : sumUs / n / 1000,
    min: n === 0 ? 0 : minUs / 1000,
    max: n === 0 ? 0 : maxUs / 1000,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
  };
}

/** The definition above, for `--help` texts (keep the two in step). */
export const PERCENTILE_DEFINITION =
  "the value at rank ⌈p/100 × count⌉ of the sorted values (nearest rank), as HdrHistogram " +
  "reports it: exact below 2.048 ms, otherwise the top of its bucket, never more than 0.1 % " +
  "above the true value, and never above the exact maximum. `mean`, `min` and `max` are exact " +
  "(kept beside the histogram).";

/** The largest value, in µs, a histogram holds (60 s); larger values are clamped to it. */
export const HIGHEST_TRACKABLE_US: number = HIGHEST_TRACKABLE_US_VALUE;

/**
 * A histogram with exact count, sum, min and max kept beside it. `record` never throws: a value
 * that is not a finite number is skipped (counted in `skipped`), one above
 * {@link HIGHEST_TRACKABLE_US} is recorded as that (counted in `clamped`). Values come from
 * untrusted places (a server's trailer, a results file): one of them must not end a run.
 */
export class Series {
  readonly hist: Histogram;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;
  /** Values above the highest trackable value, recorded as it. */
  clamped = 0;
  /** Values that were not finite numbers, not recorded. */
  skipped = 0;

  constructor(wasm = true) {
    this.hist = newHistogram(wasm);
  }

  get count(): number {
    return this.hist.totalCount;
  }

  /** Records a millisecond value (see the class text for values out of range). */
  record(ms: number): void {
    if (typeof ms !== "number" || !Number.isFinite(ms)) {
      this.skipped++;
      return;
    }
    let us = toMicros(ms);
    if (us > HIGHEST_TRACKABLE_US) {
      us = HIGHEST_TRACKABLE_US;
      this.clamped++;
    }
    this.hist.recordValue(us);
    this.sumUs += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Adds another series (exact: same buckets, same sums). */
  add(other: Series): void {
    this.hist.add(other.hist);
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
    this.clamped += other.clamped;
    this.skipped += other.skipped;
  }

  stat(): Stat {
    return statOf(this.hist, this.sumUs, this.minUs, this.maxUs);
  }

  /** Empties the series (for a rolling window). */
  reset(): void {
    this.hist.reset();
    this.sumUs = 0;
    this.minUs = Infinity;
    this.maxUs = 0;
    this.clamped = 0;
    this.skipped = 0;
  }

  destroy(): void {
    this.hist.destroy();
  }
}

/**
 * The rank (1-based) that percentile `p` picks among `n` sorted values: ⌈p/100 × n⌉, at least 1,
 * computed as HdrHistogram does (guarded against a one-ulp floating error), so that code working
 * on buckets directly reports what `getValueAtPercentile` would.
 */
export function percentileRank(p: number, n: number): number {
  const x = (Math.min(p, 100) / 100) * n;
  const ulp = x > 0 ? 2 ** (Math.floor(Math.log2(x)) - 52) : 0;
  return Math.max(Math.ceil(x - ulp), 1);
}

/** One recorded bucket: the value percentiles report for it (its top, µs) and its count. */
export interface Bucket {
  topUs: number;
  count: number;
}

/**
 * The recorded buckets of `h`, ascending. Lets a bootstrap re-weigh whole buckets without merging
 * histograms: merging thousands of them per resample is far slower.
 */
export function bucketsOf(h: Histogram): Bucket[] {
  // Only the JS implementation exposes its counts; a WebAssembly one is copied across first.
  const js = h instanceof hdr.JsHistogram
    ? h
    : hdr.decodeFromCompressedBase64(encodeHistogram(h), 32, false) as hdr.JsHistogram;
  const out: Bucket[] = [];
  for (let i = 0; i < js.countsArrayLength; i++) {
    const count = js.getCountAtIndex(i);
    if (count > 0) out.push({ topUs: js.highestEquivalentValue(js.valueFromIndex(i)), count });
  }
  return out;
}

let scratch: hdr.JsHistogram | undefined;

/** The value a histogram reports for a recorded value of `us` microseconds: the top of its bucket. */
export function bucketTop(us: number): number {
  scratch ??= newHistogram(false) as hdr.JsHistogram;
  return scratch.highestEquivalentValue(us);
}
