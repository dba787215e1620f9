/**
 * The report's charts as data: the series and settings of each chart, which the page script
 * (`page_script.js`) draws with uPlot; here the per-second charts and the attempt bars, the
 * percentile spectra in `spectrum_charts.ts`, the ladder's in `ladder_charts.ts`. Pure: runs
 * in, chart specifications out.
 *
 * Rules that keep a chart readable: within one chart no two series share both colour and dash
 * (the legend draws each series' own line, dash included); with several runs, colour means the
 * run and nothing else, and a chart shows one measure (p50, p99, …) per panel rather than three
 * dash styles of one colour; counts of different size (requests, errors) get panels of their own
 * rather than two axes over one another.
 *
 * Private to `tools/report/`.
 *
 * @internal
 * @module
 */
import type { AttemptRow, SecondStats } from "../../smft/summary.ts";
import { r3 } from "../../smft/results_format.ts";
import { runColor, runDash, runLabel, SEGMENTS } from "./_format.ts";
import { phaseSegments, type ReportRun, type SegmentKey, targetRate } from "./model.ts";

/** One line or set of bars of a chart. */
export interface ChartSeries {
  label: string;
  color: string;
  y: (number | null)[];
  width?: number;
  dash?: number[];
  /** Bars rather than a line. */
  bars?: boolean;
  /** Stacked bars: the segment's own value, shown in the legend instead of the stack height. */
  raw?: number[];
  /** Marks attempts rather than measuring them: the legend says "yes" instead of a value. */
  marker?: boolean;
  /** Each value holds until the next point (exact percentile steps). */
  stepped?: boolean;
  /** Points only, no line (runs marked INVALID on a ladder). */
  pointsOnly?: boolean;
  /** Draw a point at every value. */
  points?: boolean;
}

/** A vertical line across a chart at `x`, labelled (the ladder's knee). */
export interface ChartMark {
  x: number;
  label: string;
  color: string;
}

/** One chart: what the page script hands to uPlot (`ChartSpec` in `page_script.js` too). */
export interface ChartSpec {
  id: string;
  /** `lines` over seconds, `spectrum` over percentiles, `stacked` bars per attempt, `ladder` over offered rate. */
  kind: "lines" | "spectrum" | "stacked" | "ladder";
  title: string;
  xLabel: string;
  yLabel: string;
  /** How values read in the legend. */
  unit: "ms" | "count" | "%" | "rate";
  logY?: boolean;
  /** A fixed y range (a log axis is not stretched by curves far below the ones that matter). */
  yRange?: [number, number];
  height: number;
  /** Charts with the same key share the cursor. */
  sync?: string;
  x: number[];
  series: ChartSeries[];
  marks?: ChartMark[];
  /** A caption under the chart: how to read it. */
  caption: string;
}

/** Colours of the measures of one run (never the same pair of colour and dash twice). */
export const MEASURE = {
  p50: "#0072b2",
  p90: "#009e73",
  p99: "#d55e00",
  p999: "#7b3294",
  max: "#5f5f5f",
  lag: "#009e73",
  response: "#0072b2",
  service: "#cc79a7",
  df: "#e69f00",
  errors: "#c62828",
  target: "#8c8c8c",
} as const;

/** A log axis when the spread is wide enough that a linear one would flatten the body. */
function wantLog(min: number, max: number): boolean {
  return Number.isFinite(min) && min > 0 && max / min > 20;
}

/** Min (positive) and max of values, skipping nulls; reduce, so long runs do not overflow a call. */
function extent(values: (number | null | undefined)[]): { min: number; max: number } {
  let min = Infinity;
  let max = 0;
  for (const v of values) {
    if (v == null) continue;
    if (v > 0 && v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** A log axis and its range when wide, from the values that matter; else linear. */
export function yScale(values: (number | null | undefined)[]): Pick<ChartSpec, "logY" | "yRange"> {
  const { min, max } = extent(values);
  if (!wantLog(min, max)) return {};
  return { logY: true, yRange: [r3(min / 1.3), r3(max * 1.3)] };
}

/**
 * The charts over time of steady runs, sharing a cursor: for one run, response time (p50, p99,
 * max, generator lag p99) and requests and errors per second in two panels; for several, one
 * panel per measure (p50, p99, max), one line per run, then requests and errors per second.
 * Ids start with `${prefix}-`.
 *
 * @example
 * ```ts
 * perSecondCharts([run], "steady").map((c) => c.id);
 * // ["steady-latency-time", "steady-rate-time", "steady-errors-time"]
 * ```
 */
export function perSecondCharts(runs: ReportRun[], prefix: string): ChartSpec[] {
  const xs = [...new Set(runs.flatMap((r) => r.perSecond.map((p) => p.s)))].sort((a, b) => a - b);
  const at = (r: ReportRun, f: (p: SecondStats) => number | null) => {
    const m = new Map(r.perSecond.map((p) => [p.s, p]));
    return xs.map((s) => {
      const p = m.get(s);
      return p ? f(p) : null;
    });
  };
  const single = runs.length === 1;
  const w = Math.max(...runs.map((r) => r.windowS ?? 1));
  const last = xs.reduce((m, x) => Math.max(m, x), 0) + w;
  // Counts per window become rates; the last window may be cut short by the end of the run.
  const perS = (r: ReportRun, p: SecondStats, v: number) =>
    r3(v / Math.max(1, Math.min(r.windowS ?? 1, last - p.s)));
  // Seconds without a successful call have no latency: a gap, not a fake zero.
  const lat = (r: ReportRun, f: (p: SecondStats) => number) =>
    at(r, (p) => p.ok > 0 ? r3(f(p)) : null);
  const per = w === 1 ? "second" : `${w} s window`;
  const base = (id: string, title: string, yLabel: string, unit: ChartSpec["unit"]) => ({
    id: `${prefix}-${id}`,
    kind: "lines" as const,
    title,
    xLabel: "seconds since start of measurement",
    yLabel,
    unit,
    sync: prefix,
    x: xs,
  });
  const charts: ChartSpec[] = [];

  if (single) {
    const r = runs[0];
    const series: ChartSeries[] = [
      { label: "p50", color: MEASURE.p50, y: lat(r, (p) => p.p50), width: 2 },
      { label: "p99", color: MEASURE.p99, y: lat(r, (p) => p.p99), width: 2 },
      { label: "max", color: MEASURE.max, y: lat(r, (p) => p.max), width: 1, dash: [5, 3] },
    ];
    if (r.perSecond.some((p) => p.lagP99 > 0)) {
      // Beside the response time, so a spike can be told apart from the generator's own delay.
      series.push({
        label: "generator lag p99",
        color: MEASURE.lag,
        y: at(r, (p) => r3(p.lagP99)),
        width: 1.5,
        dash: [1, 3],
      });
    }
    charts.push({
      ...base(
        "latency-time",
        `Response time over the run (successful calls, per ${per})`,
        "response time (ms)",
        "ms",
      ),
      // The scale follows response time: lag near zero may sit on the axis, not stretch it.
      ...yScale(series.slice(0, 3).flatMap((s) => s.y)),
      height: 330,
      series,
      caption: `Each point is one ${per} of intended send times: its p50, p99 and maximum ` +
        "response time (done − intended, so generator delays are included), and the p99 of the " +
        "generator's own lag (issued − intended).",
    });
  } else {
    for (const [key, what] of [["p50", "p50"], ["p99", "p99"], ["max", "maximum"]] as const) {
      const series = runs.map((r, i): ChartSeries => ({
        label: runLabel(r),
        color: runColor(r, i),
        dash: runDash(i),
        y: lat(r, (p) => p[key]),
        width: key === "max" ? 1.5 : 2,
      }));
      charts.push({
        ...base(
          `${key}-time`,
          `${what} response time over the run, per ${per}`,
          `${key} (ms)`,
          "ms",
        ),
        ...yScale(series.flatMap((s) => s.y)),
        height: 220,
        series,
        caption: `One line per run (colour = run): the ${what} response time of successful ` +
          `calls in each ${per} of intended send times.`,
      });
    }
  }

  // Requests and errors: two panels, each on its own honest scale from 0.
  const rate: ChartSeries[] = runs.map((r, i) => ({
    label: single ? "requests/s" : runLabel(r),
    color: single ? MEASURE.p50 : runColor(r, i),
    dash: single ? undefined : runDash(i),
    y: at(r, (p) => perS(r, p, p.n)),
    width: 2,
  }));
  // One line per distinct target rate: grey for one run, else in the colour of its first run.
  const targets = new Set<number>();
  runs.forEach((r, i) => {
    const t = targetRate(r);
    if (t === undefined || targets.has(t)) return;
    targets.add(t);
    rate.push({
      label: single ? `target ${t}/s` : `${runLabel(r)} target ${t}/s`,
      color: single ? MEASURE.target : runColor(r, i),
      y: xs.map(() => t),
      width: 1,
      dash: single ? [6, 4] : [2, 4],
    });
  });
  charts.push({
    ...base("rate-time", "Requests per second", "requests / s", "count"),
    height: 200,
    series: rate,
    caption: `Requests counted by the ${per} they were scheduled in` +
      (single ? ", against the target rate." : ", one line per run, against each target rate."),
  });
  const errs: ChartSeries[] = runs.map((r, i) => ({
    label: single ? "errors/s" : runLabel(r),
    color: single ? MEASURE.errors : runColor(r, i),
    dash: single ? undefined : runDash(i),
    y: at(r, (p) => perS(r, p, p.errors)),
    bars: single,
    width: single ? undefined : 1.5,
  }));
  charts.push({
    ...base("errors-time", "Errors per second", "errors / s", "count"),
    height: 150,
    series: errs,
    caption: "Calls that ended with a non-OK status, by the " + per +
      " they were scheduled in; on a scale of their own, from 0 (the panel above has requests).",
  });
  return charts;
}

/** Bars beyond this many attempts are grouped (means of k attempts): thinner than a pixel. */
const MAX_BARS = 600;

/**
 * Stacked bars of where each attempt's time went, phase by phase; undefined without attempts.
 * Beyond `MAX_BARS` attempts, each bar is the mean of consecutive ones.
 */
export function attemptChart(run: ReportRun, idx: number): ChartSpec | undefined {
  const rows = run.attempts ?? [];
  if (rows.length === 0) return undefined;
  const k = Math.ceil(rows.length / MAX_BARS);
  const groups: AttemptRow[][] = [];
  for (let i = 0; i < rows.length; i += k) groups.push(rows.slice(i, i + k));
  const segs = groups.map((g) => {
    const sum = Object.fromEntries(SEGMENTS.map((s) => [s.key, 0])) as Record<SegmentKey, number>;
    for (const a of g) {
      const s = phaseSegments(a.phases);
      for (const seg of SEGMENTS) sum[seg.key] += s[seg.key] / g.length;
    }
    return sum;
  });
  const present = SEGMENTS.filter((s) => segs.some((v) => v[s.key] > 0));
  // Stacked by drawing each cumulative height, tallest first, so lower segments paint over it.
  const cum: number[][] = [];
  let acc = segs.map(() => 0);
  for (const s of present) {
    acc = acc.map((a, i) => a + segs[i][s.key]);
    cum.push(acc);
  }
  const series: ChartSeries[] = present.map((s, j) => ({
    label: s.label,
    color: s.color,
    y: cum[j].map(r3),
    raw: segs.map((v) => r3(v[s.key])),
    bars: true,
  })).reverse();
  // A failed attempt has little or no bar: a pale red column behind it makes it stand out.
  const top = Math.max(...acc);
  const failed = groups.map((g) => g.some((a) => !a.ok) ? r3(top) : null);
  if (failed.some((v) => v !== null)) {
    series.unshift({
      label: "failed attempt",
      color: "#f4c7c3",
      y: failed,
      bars: true,
      marker: true,
    });
  }
  const x = groups.map((_, i) => i * k + 1);
  return {
    id: `cold-attempts-${idx}`,
    kind: "stacked",
    title: `Where each connection's time went: ${runLabel(run)}`,
    xLabel: k > 1 ? `attempt (each bar: mean of ${k} attempts)` : "attempt",
    yLabel: "ms from attempt start",
    unit: "ms",
    height: 330,
    x,
    series,
    caption: "Phases in order from the bottom: DNS, TCP connect, TLS handshake, HTTP/2 settings " +
      "exchange, the rest of the channel connect, then the first RPC (differences of the " +
      "cumulative phase times). A pale red column marks a failed attempt (its bar shows the phases it completed).",
  };
}
