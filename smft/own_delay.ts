/**
 * The generator's own delay, both sides of it. The send side is the lag of every call (issued −
 * intended). The read side is how long a response that has arrived waits for the thread that owns
 * its channel: the pacer hears every interval in which that thread was not waiting in the event
 * loop's poll (`BusyLog` in `shared/pacer.ts`: callbacks, GC, the OS taking the core), and a
 * response arriving at a random instant waits the rest of the interval it falls in. Over a window
 * of W ms holding intervals g, the chance that it waits more than x is
 *
 *   P(read > x) = Σ max(0, g − x) / W
 *
 * (length-biased: a long interval catches more arrivals; time spent in the poll, a sleep
 * included, reads at once). Percentiles of that are exact from a histogram of the intervals, which
 * merges across connections and load hosts like every other histogram (the windows add up).
 *
 * How much both sides move the reported percentiles ({@link OwnDelay.moves}) is what the verdict
 * judges: the send side exactly, from each call's latency (from its intended instant) against its
 * time from issue to read; the read side by adding its distribution to every call's time once more
 * and seeing how far each percentile goes ({@link addedDelayMoves}). Adding the two sides'
 * percentiles instead (`at most`, still used where the calls' times are not kept) overstates: a
 * read delay at its p99 rarely meets a call at its own.
 *
 * Not seen: the ~0.1 ms between two polls of a spinning loop (the event loop reads sockets about
 * every 61 turns), and time lost before the thread: in the kernel, or on a server sharing the
 * host. Both are the reason the verdict's bound is calibrated against an independent client
 * (`deno task bench`).
 *
 * @module
 */
import type { BusyLog } from "./shared/pacer.ts";
import {
  type Bucket,
  bucketsOf,
  HIGHEST_TRACKABLE_US,
  type Histogram,
  newHistogram,
  type Stat,
  toMicros,
} from "./histogram.ts";

/** The intervals a thread could not read in, recorded while measuring. */
export class ReadGaps implements BusyLog {
  readonly hist: Histogram = newHistogram();
  #since: number | undefined;
  #windowMs = 0;

  /** Starts the window (the first measured call): intervals before it are not the run's. */
  start(now: number): void {
    this.#since ??= now;
  }

  /** Ends the window; the window's length in ms (0 when it never started). */
  stop(now: number): number {
    if (this.#since !== undefined) this.#windowMs += now - this.#since;
    this.#since = undefined;
    return this.#windowMs;
  }

  busy(ms: number): void {
    if (this.#since === undefined) return;
    this.hist.recordValue(Math.min(toMicros(ms), HIGHEST_TRACKABLE_US));
  }

  destroy(): void {
    this.hist.destroy();
  }
}

/**
 * The `p`-th percentile of the read delay, ms, from a histogram of busy intervals (µs) over a
 * window of `windowMs` (pure; see the module's formula). 0 when the intervals cover less than
 * `100 − p` % of the window.
 *
 * @example
 * ```ts
 * // One 10 ms stall in a 1 s window: 1 % of arrivals wait, up to 10 ms; the p99 is 0.
 * readDelayPercentile([{ topUs: 10_000, count: 1 }], 1000, 99); // 0
 * readDelayPercentile([{ topUs: 10_000, count: 1 }], 1000, 99.5); // 5
 * ```
 */
export function readDelayPercentile(
  buckets: readonly Bucket[],
  windowMs: number,
  p: number,
): number {
  return readDelayAt(longestFirst(buckets), windowMs, p);
}

/** The intervals that occurred, longest first (what {@link readDelayAt} walks). */
function longestFirst(buckets: readonly Bucket[]): Bucket[] {
  return buckets.filter((b) => b.count > 0).sort((a, b) => b.topUs - a.topUs);
}

/** {@link readDelayPercentile} over intervals already sorted by {@link longestFirst}. */
function readDelayAt(desc: readonly Bucket[], windowMs: number, p: number): number {
  if (!(windowMs > 0)) return 0;
  // Find x with Σ count·max(0, g − x) = (1 − p) · W, walking down from the longest interval:
  // between two interval lengths the sum is linear in x.
  const target = (1 - p / 100) * windowMs * 1000;
  let count = 0, sum = 0;
  for (let i = 0; i < desc.length; i++) {
    count += desc[i].count;
    sum += desc[i].count * desc[i].topUs;
    const next = i + 1 < desc.length ? desc[i + 1].topUs : 0;
    const x = (sum - target) / count;
    if (x >= next) return Math.max(0, x) / 1000;
  }
  return 0;
}

/** How much each side of the own delay moves the reported p50 and p99, ms. */
export interface OwnMoves {
  sendP50: number;
  sendP99: number;
  readP50: number;
  readP99: number;
}

/** The generator's own delay at the two percentiles the verdict judges, ms. */
export interface OwnDelay {
  /** Lag (issued − intended) p50 and p99. */
  sendP50: number;
  sendP99: number;
  /** Read delay p50 and p99; undefined when the read side was not measured. */
  readP50?: number;
  readP99?: number;
  /** Seconds of thread time the read side covers (connections added). */
  readWindowS?: number;
  /**
   * The I/O probe (`io_probe.ts`): how late this thread wrote and read a socket at random
   * instants, p50 and p99, ms; undefined without a probe.
   */
  ioP50?: number;
  ioP99?: number;
  /** Probes timed. */
  ioSamples?: number;
  /**
   * How much each side moves the reported p50 and p99 (module text), when the calls' times are
   * known (steady); undefined for coldconn and for files without them.
   */
  moves?: OwnMoves;
}

/** The calls' times a run kept, to say how much the own delay moves their percentiles. */
export interface CallTimes {
  /** Each call's latency, from its intended instant (µs, as recorded). */
  latency: Histogram;
  /** Each call's time from issue to read (µs). */
  service: Histogram;
}

/** Equally likely values the read delay's distribution is sampled at to add it to every call. */
const READ_LEVELS = 10_000;

/**
 * The read delay's distribution as {@link READ_LEVELS} equally likely values, ascending, ms
 * (pure): at each level, the larger of the turn gaps' and the I/O probe's figure, as
 * {@link readAt} takes them.
 */
export function readDelayLevels(
  gaps: { buckets: readonly Bucket[]; windowMs: number } | undefined,
  io: Histogram | undefined,
): Float64Array {
  const out = new Float64Array(READ_LEVELS);
  // Sorted once for all the levels, not once a level.
  const desc = gaps ? longestFirst(gaps.buckets) : [];
  for (let i = 0; i < READ_LEVELS; i++) {
    const p = (i + 0.5) / READ_LEVELS * 100;
    const g = gaps ? readDelayAt(desc, gaps.windowMs, p) : 0;
    out[i] = Math.max(g, io && io.totalCount > 0 ? io.getValueAtPercentile(p) / 1000 : 0);
  }
  return out.sort();
}

/**
 * How far the `p`-th percentile of the calls' times (`buckets`, µs) moves when a delay taking each
 * of `delays` (ms) with equal chance is added to every call, ms (pure; 0.001 ms steps).
 *
 * @example
 * ```ts
 * const calls = [{ topUs: 10_000, count: 100 }];
 * addedDelayMoves(calls, Float64Array.from([0, 0, 0, 1]), 50); // 0: three calls in four wait 0
 * addedDelayMoves(calls, Float64Array.from([0, 0, 0, 1]), 99); // 1
 * ```
 */
export function addedDelayMoves(
  buckets: readonly Bucket[],
  delays: Float64Array,
  p: number,
): number {
  const sorted = [...buckets].filter((b) => b.count > 0).sort((a, b) => a.topUs - b.topUs);
  if (sorted.length === 0 || delays.length === 0) return 0;
  const tops = sorted.map((b) => b.topUs);
  const cum: number[] = [];
  let total = 0;
  for (const b of sorted) cum.push(total += b.count);
  // The share of calls at most x µs.
  const below = (x: number) => {
    let lo = 0, hi = tops.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tops[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : cum[lo - 1] / total;
  };
  const want = p / 100;
  const base = tops[cum.findIndex((c) => c / total >= want - 1e-12)];
  const withDelay = (x: number) => {
    let sum = 0;
    for (const d of delays) sum += below(x - d * 1000);
    return sum / delays.length;
  };
  if (withDelay(base) >= want - 1e-12) return 0;
  // The smallest x with withDelay(x) >= want lies in (base, base + the longest delay].
  let lo = base, hi = base + delays[delays.length - 1] * 1000 + 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) / 2;
    if (withDelay(mid) >= want - 1e-12) hi = mid;
    else lo = mid;
  }
  return Math.max(0, Math.round(hi - base)) / 1000;
}

/**
 * The own delay from the lag figures and, when measured, the busy intervals and the I/O probe;
 * with the calls' times, how much each side moves their p50 and p99 (pure).
 */
export function ownDelayOf(
  lag: Pick<Stat, "p50" | "p99">,
  read?: { hist: Histogram; windowMs: number },
  io?: Histogram,
  calls?: CallTimes,
): OwnDelay {
  const d: OwnDelay = { sendP50: lag.p50, sendP99: lag.p99 };
  if (io && io.totalCount > 0) {
    d.ioP50 = io.getValueAtPercentile(50) / 1000;
    d.ioP99 = io.getValueAtPercentile(99) / 1000;
    d.ioSamples = io.totalCount;
  }
  const gaps = read && read.windowMs > 0
    ? { buckets: bucketsOf(read.hist), windowMs: read.windowMs }
    : undefined;
  if (gaps) {
    d.readP50 = readDelayPercentile(gaps.buckets, gaps.windowMs, 50);
    d.readP99 = readDelayPercentile(gaps.buckets, gaps.windowMs, 99);
    d.readWindowS = gaps.windowMs / 1000;
  }
  if (calls && calls.latency.totalCount > 0 && calls.service.totalCount > 0) {
    const at = (h: Histogram, p: number) => h.getValueAtPercentile(p) / 1000;
    const sendMoves = (p: number) => Math.max(0, at(calls.latency, p) - at(calls.service, p));
    const levels = gaps || d.ioSamples ? readDelayLevels(gaps, io) : undefined;
    const buckets = levels ? bucketsOf(calls.latency) : [];
    const readMoves = (p: number) => levels ? addedDelayMoves(buckets, levels, p) : 0;
    d.moves = {
      sendP50: sendMoves(50),
      sendP99: sendMoves(99),
      readP50: readMoves(50),
      readP99: readMoves(99),
    };
  }
  return d;
}

/**
 * The read side at p50 and p99, ms (pure): the larger of the turn gaps' figure and the I/O
 * probe's, which sees the socket path too (a turn gap delays the probe as it delays a response).
 */
export function readAt(d: OwnDelay): { p50: number; p99: number } | undefined {
  if (d.readP99 === undefined && d.ioP99 === undefined) return undefined;
  return {
    p50: Math.max(d.readP50 ?? 0, d.ioP50 ?? 0),
    p99: Math.max(d.readP99 ?? 0, d.ioP99 ?? 0),
  };
}

/**
 * How much the own delay moves the reported p50 and p99, ms (pure): both sides' moves when known,
 * else (coldconn, older files) both sides' percentiles added, which overstates.
 */
export function ownAt(d: OwnDelay): { p50: number; p99: number } {
  if (d.moves) {
    return { p50: d.moves.sendP50 + d.moves.readP50, p99: d.moves.sendP99 + d.moves.readP99 };
  }
  const read = readAt(d);
  return { p50: d.sendP50 + (read?.p50 ?? 0), p99: d.sendP99 + (read?.p99 ?? 0) };
}

const f2 = (v: number) => v.toFixed(2);

/**
 * The summary's line (pure): both sides, and how much they move the reported p50 and p99 (or,
 * without the calls' times, how much of them they can account for at most).
 *
 * @example
 * ```ts
 * formatOwnDelay({ sendP50: 0.01, sendP99: 0.2, readP50: 0.05, readP99: 0.4 }, { p50: 5.6, p99: 10.2 });
 * // "Generator's own delay: send p50 0.01 / p99 0.20 ms, read p50 0.05 / p99 0.40 ms (at most
 * //  0.06 ms of the p50 5.60 ms, 0.60 ms of the p99 10.20 ms)"
 * ```
 */
export function formatOwnDelay(d: OwnDelay, latency?: Pick<Stat, "p50" | "p99">): string {
  const r = readAt(d);
  const read = r === undefined
    ? "read side not measured"
    : `read p50 ${f2(r.p50)} / p99 ${f2(r.p99)} ms`;
  const at = ownAt(d);
  const of = !latency
    ? ""
    : d.moves
    ? ` (moves the p50 ${f2(latency.p50)} ms by ${f2(at.p50)} ms, the p99 ${
      f2(latency.p99)
    } ms by ${f2(at.p99)} ms)`
    : ` (at most ${f2(at.p50)} ms of the p50 ${f2(latency.p50)} ms, ${f2(at.p99)} ms of the p99 ${
      f2(latency.p99)
    } ms)`;
  return `Generator's own delay: send p50 ${f2(d.sendP50)} / p99 ${f2(d.sendP99)} ms, ${read}${of}`;
}
