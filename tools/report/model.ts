/**
 * The report's data model: what the page shows about each run, filled from an
 * {@link Accumulator} (one results file's, or several merged). Pure: no I/O, no HTML.
 *
 * @module
 */
import type { Series } from "../../smft/histogram.ts";
import type { Accumulator, AttemptRow, SecondStats, Summary } from "../../smft/summary.ts";
import { finite, type Phase, type TestName } from "../../smft/results_format.ts";
import {
  advice,
  invalidCause,
  lagJudgeable,
  ownP99Limit,
  ownP99Share,
  verdictFromEnd,
} from "../../smft/verdict.ts";
import { ownAt } from "../../smft/own_delay.ts";

/** One [percentile, ms] point of a percentile spectrum; percentile in 0..100. */
export type SpectrumPoint = [number, number];

/**
 * A percentile spectrum: its points, and whether they are the exact steps of few values (each
 * value holds from its point to the next) rather than a dense curve of a histogram.
 */
export type Spectrum = SpectrumPoint[] & { steps?: boolean };

/** Percentile spectra a report can draw; steady runs fill the first four, coldconn the rest. */
export interface Spectra {
  /** Response time of successful calls (done − intended). */
  latency?: Spectrum;
  /** Service time (done − issued). */
  service?: Spectrum;
  /** Generator lag (issued − intended). */
  lag?: Spectrum;
  /** df's own handling time. */
  df?: Spectrum;
  /** Cold connection: channel connect time. */
  connect?: Spectrum;
  /** Cold connection: first RPC on the new channel. */
  first_rpc?: Spectrum;
  /** Cold connection: connect + first RPC. */
  total?: Spectrum;
}

/** One SLO verdict as the report shows it. */
export interface ReportVerdict {
  /** The verdict without its PASS/FAIL word, e.g. `p99 < 10ms  (measured 8.23ms)`. */
  text: string;
  pass: boolean;
}

/** Everything the report shows about one results file (or several merged). */
export interface ReportRun {
  /** Shown in tables: the results file's name. */
  name: string;
  /**
   * Shown in chart legends: what tells this run from the others (`500rps` for
   * `01_steady_results_500rps.txt` beside `…_1000rps.txt`). @default name
   */
  label?: string;
  /** The file's path, as given. @default name */
  path?: string;
  /** A shard shown beside the merge of its run: not a run of its own (no ladder point). */
  inMerge?: boolean;
  test: TestName;
  /** The file's `#META` object, if any. */
  meta?: Record<string, unknown>;
  /** The file's `#END` object, if any. */
  end?: Record<string, unknown>;
  summary: Summary;
  /** Steady: figures per second (per window of `windowS` seconds for long runs), in order. */
  perSecond: SecondStats[];
  /** Seconds each `perSecond` row covers; `n` and `errors` are counts over it. @default 1 */
  windowS?: number;
  spectrum: Spectra;
  /** Coldconn: attempts in order (cumulative phase times). */
  attempts?: AttemptRow[];
  verdicts?: ReportVerdict[];
  /** Caveats shown beside the run (truncated file, malformed lines, large generator lag...). */
  notes?: string[];
  /** True for the combination of several files (drawn in black, listed last). */
  merged?: boolean;
  /** Colour in charts and tables. @default one per file, by position in the report */
  color?: string;
}

// Ten points per decade of 1/(1-p): a handful of fixed percentiles draws a jagged curve.
const SPECTRUM_PERCENTILES = Array.from({ length: 61 }, (_, k) => 100 * (1 - 10 ** (-k / 10)));

/** Up to this many values, a spectrum is drawn as its exact steps, one per value. */
const STEP_SPECTRUM_MAX = 200;

/**
 * A percentile spectrum of a series. Up to `STEP_SPECTRUM_MAX` values: the exact steps
 * (the k-th smallest value holds from percentile 100·(k−1)/n up to 100·k/n, the nearest-rank
 * definition), marked `steps`, so 20 cold connections draw 20 honest steps rather than a curve
 * that stops at 95 % with a spike. More: a dense curve, points up to the percentile its count
 * resolves, then the exact maximum at rank n (percentile 100·(1 − 1/n)), where HdrHistogram plots
 * put it. Either way the chart extends the maximum flat to its right edge.
 *
 * @example
 * ```ts
 * const s = new Series(false);
 * for (let i = 1; i <= 1000; i++) s.record(i / 100);
 * spectrumOf(s).at(-1); // [99.9, 10]: the maximum, at rank n
 * ```
 */
export function spectrumOf(series: Series): Spectrum {
  const n = series.count;
  if (n === 0) return [];
  if (n <= STEP_SPECTRUM_MAX) {
    const steps: Spectrum = [];
    for (let k = 1; k <= n; k++) {
      const v = k === 1
        ? series.minUs
        : k === n
        ? series.maxUs
        : Math.min(series.hist.getValueAtPercentile((100 * (k - 0.5)) / n), series.maxUs);
      steps.push([(100 * (k - 1)) / n, v / 1000]);
    }
    steps.steps = true;
    return steps;
  }
  const out: SpectrumPoint[] = [[0, series.minUs / 1000]];
  const maxP = n > 1 ? 100 * (1 - 1 / n) : 0;
  for (const p of SPECTRUM_PERCENTILES.slice(1)) {
    if (p >= maxP) break;
    out.push([p, Math.min(series.hist.getValueAtPercentile(p), series.maxUs) / 1000]);
  }
  if (maxP > 0) out.push([maxP, series.maxUs / 1000]);
  return out;
}

/** Points over time beyond which seconds are grouped into windows: a day is 86,400 seconds. */
const MAX_TIME_POINTS = 1800;

/**
 * Per-second figures, or for a run longer than MAX_TIME_POINTS seconds, per window of k seconds,
 * merged exactly from the per-second histograms (a page stays small and a chart readable).
 */
function timeSeries(acc: Accumulator): { perSecond: SecondStats[]; windowS?: number } {
  const keys = [...acc.seconds.keys()];
  const span = keys.length ? keys.reduce((a, b) => Math.max(a, b)) + 1 : 0;
  if (span <= MAX_TIME_POINTS) return { perSecond: acc.perSecond() };
  const k = Math.ceil(span / MAX_TIME_POINTS);
  return { perSecond: acc.perSecond(k), windowS: k };
}

/** Extra inputs of `reportRunFromAccumulator` beyond the common ones. */
export interface RunExtras {
  end?: Record<string, unknown>;
  notes?: string[];
  merged?: boolean;
  /** Seconds of measurement for the achieved rate. @default meta.duration_s, else the span of send times */
  durationS?: number;
}

/**
 * Fills a `ReportRun` from an Accumulator (one file's, or several merged). Does not destroy it.
 *
 * @example
 * ```ts
 * const acc = new Accumulator("01_steady");
 * acc.add({ ok: true, latency_ms: 5.2, lag_ms: 0.05, t_ms: 0 });
 * const run = reportRunFromAccumulator("a.txt", "01_steady", acc, { rate: 1 });
 * acc.destroy();
 * run.summary.latency?.p50; // 5.2
 * ```
 */
export function reportRunFromAccumulator(
  name: string,
  test: TestName,
  acc: Accumulator,
  meta?: Record<string, unknown>,
  verdicts?: ReportVerdict[],
  extras: RunExtras = {},
): ReportRun {
  const summary = acc.summary(extras.durationS ?? finite(meta?.duration_s));
  const spectrum: Spectra = {};
  if (test === "01_steady") {
    for (const k of ["latency", "service", "lag", "df"] as const) {
      if (acc[k].count) spectrum[k] = spectrumOf(acc[k]);
    }
  } else {
    for (const k of ["connect", "first_rpc", "total"] as const) {
      const s = acc.phases.get(k);
      if (s?.count) spectrum[k] = spectrumOf(s);
    }
  }
  const notes = [...(extras.notes ?? [])];
  const lagNote = generatorLagNote(summary, extras.end);
  if (lagNote) notes.push(lagNote);
  return {
    name,
    test,
    meta,
    end: extras.end,
    summary,
    ...(test === "01_steady" ? timeSeries(acc) : { perSecond: [] }),
    spectrum,
    attempts: test === "02_coldconn" ? [...acc.attempts] : undefined,
    verdicts,
    notes,
    merged: extras.merged,
  };
}

/**
 * A run that smft judged INVALID (`#END.valid` false) carries the generator's own delay in its
 * figures; the report must say so rather than blame the server, with the verdict's own words.
 */
function generatorLagNote(s: Summary, end?: Record<string, unknown>): string | undefined {
  const v = verdictFromEnd(end, undefined);
  if (!v) return ownDelayNote(s);
  if (v.valid) return undefined;
  const what = s.test === "01_steady" ? "latencies" : "connection times";
  const why = v.reasons.length ? ` (${v.reasons.join("; ")})` : "";
  return `smft judged this run INVALID: ${invalidCause(v.reasons)}${why}. Its ${what} include ` +
    `the generator's own delay; treat them with care. ${advice(v.reasons)}`.trim();
}

/**
 * A file without a verdict (no `#END`: seed format, or cut short) is judged on what its lines
 * show, the send side: whether the lag alone breaks the p99 bound of smft's rule.
 */
function ownDelayNote(s: Summary): string | undefined {
  const judged = s.test === "01_steady" ? s.latency : s.phases?.total;
  if (!s.ownDelay || !judged || !lagJudgeable(s.total)) return undefined;
  const at = ownAt(s.ownDelay).p99;
  const limit = ownP99Limit(judged.p99, s.ownDelay);
  if (at <= limit) return undefined;
  return `Generator lag p99 is ${s.ownDelay.sendP99.toFixed(2)} ms (max ${
    s.lag?.max.toFixed(2) ?? "?"
  } ms${s.ownDelay.moves ? `; it moves the p99 by ${at.toFixed(2)} ms` : ""}), over ${
    limit.toFixed(2)
  } ms (${ownP99Share(s.ownDelay) * 100} % of the p99 ` +
    `${judged.p99.toFixed(2)} ms): the load generator fell behind its schedule, so response ` +
    `times include its own delay. Service time (done − issued) excludes it.`;
}

/**
 * The rate a file's host was asked for: its share when the load was split over hosts.
 *
 * @example
 * ```ts
 * targetRate(run); // 500 for meta { rate: 1000, host_rate: 500 }
 * ```
 */
export function targetRate(r: ReportRun): number | undefined {
  return finite(r.meta?.host_rate) ?? finite(r.meta?.rate);
}

/** The segments a cold connection's time is split into, bottom of its bar first. */
export type SegmentKey = "start" | "dns" | "tcp" | "tls" | "h2" | "rest" | "first_rpc";

/**
 * Phase durations from the cumulative times of one attempt (clamped at 0 against clock noise).
 *
 * @example
 * ```ts
 * phaseSegments({ dns: 0.1, tcp: 0.4, connect: 3.3, first_rpc: 6.1 });
 * // { start: 0, dns: 0.1, tcp: 0.3, tls: 0, h2: 0, rest: 2.9, first_rpc: 6.1 } (give or take rounding)
 * ```
 */
export function phaseSegments(p: Partial<Record<Phase, number>>): Record<SegmentKey, number> {
  let before = 0;
  const seg = {} as Record<SegmentKey, number>;
  for (const k of ["start", "dns", "tcp", "tls", "h2"] as const) {
    const v = p[k];
    seg[k] = v === undefined ? 0 : Math.max(0, v - before);
    if (v !== undefined) before = Math.max(before, v);
  }
  seg.rest = p.connect === undefined ? 0 : Math.max(0, p.connect - before);
  seg.first_rpc = p.first_rpc ?? 0;
  return seg;
}
