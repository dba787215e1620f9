/**
 * `deno task report`: results files -> one self-contained HTML page (tables, SLO verdicts and
 * uPlot charts with the library inlined), so it opens offline in any browser and can be mailed
 * or attached to a ticket as a single file.
 *
 * `renderReport` is pure (runs in, HTML out); `reportCommand` reads the files and writes the page.
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { ConfigError, formatOptions, resolveOptions } from "../smft/shared/config.ts";
// Inlined at build time (text imports), so the page never fetches anything.
import UPLOT_JS from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import UPLOT_CSS from "uplot/dist/uPlot.min.css" with { type: "text" };
import { Series, type Stat } from "../smft/histogram.ts";
import {
  durationOf,
  notesOf,
  readResultsMany,
  type ResultsFile,
  type ResultsSet,
} from "./results.ts";
import { formatVerdict, judgeSlo, parseSlo, type SloClause } from "../smft/slo.ts";
import { type CommandResult, errorLine } from "./command.ts";
import {
  type Accumulator,
  type AttemptRow,
  type SecondStats,
  type Summary,
} from "../smft/summary.ts";
import type { Phase, TestName } from "../smft/results_format.ts";

/** The uPlot release inlined into every report (kept in step with deno.json). */
export const UPLOT_VERSION = "1.6.32";

/** One [percentile, ms] point of a percentile spectrum; percentile in 0..100. */
export type SpectrumPoint = [number, number];

/** Percentile spectra a report can draw; steady runs fill the first four, coldconn the rest. */
export interface Spectra {
  /** Response time of successful calls (done − intended). */
  latency?: SpectrumPoint[];
  /** Service time (done − issued). */
  service?: SpectrumPoint[];
  /** Generator lag (issued − intended). */
  lag?: SpectrumPoint[];
  /** df's own handling time. */
  df?: SpectrumPoint[];
  /** Cold connection: channel connect time. */
  connect?: SpectrumPoint[];
  /** Cold connection: first RPC on the new channel. */
  first_rpc?: SpectrumPoint[];
  /** Cold connection: connect + first RPC. */
  total?: SpectrumPoint[];
}

/** One SLO verdict as the report shows it. */
export interface ReportVerdict {
  /** The verdict without its PASS/FAIL word, e.g. `p99 < 10ms  (measured 8.23ms)`. */
  text: string;
  pass: boolean;
}

/** Everything the report shows about one results file (or several merged). */
export interface ReportRun {
  /** Shown in legends and tables: the results file's name. */
  name: string;
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

/** Options of `renderReport`. */
export interface RenderOptions {
  /** Page title. @default "gRPC latency report" */
  title?: string;
  /** Shown in the header. @default new Date() */
  generatedAt?: Date;
}

// ---------------------------------------------------------------------------------------------
// From an Accumulator

// Ten points per decade of 1/(1-p): a handful of fixed percentiles draws a jagged curve.
const SPECTRUM_PERCENTILES = Array.from({ length: 61 }, (_, k) => 100 * (1 - 10 ** (-k / 10)));

/**
 * A dense percentile spectrum of a series: points up to the percentile its count resolves, then
 * the exact maximum at rank n (percentile 100·(1 − 1/n)), where HdrHistogram plots put it.
 */
export function spectrumOf(series: Series): SpectrumPoint[] {
  const n = series.count;
  if (n === 0) return [];
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
export const MAX_TIME_POINTS = 1800;

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

const num = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;

/** Extra inputs of `reportRunFromAccumulator` beyond the common ones. */
export interface RunExtras {
  end?: Record<string, unknown>;
  notes?: string[];
  merged?: boolean;
  /** Seconds of measurement for the achieved rate. @default meta.duration_s, else the span of send times */
  durationS?: number;
}

/** Fills a `ReportRun` from an Accumulator (one file's, or several merged). */
export function reportRunFromAccumulator(
  name: string,
  test: TestName,
  acc: Accumulator,
  meta?: Record<string, unknown>,
  verdicts?: ReportVerdict[],
  extras: RunExtras = {},
): ReportRun {
  const summary = acc.summary(extras.durationS ?? num(meta?.duration_s));
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
 * A generator that fell behind its schedule inflates every response time; the report must say
 * so rather than blame the server. Same rule as smft's run verdict: lag p99 of 1 ms or more.
 */
function generatorLagNote(s: Summary, end?: Record<string, unknown>): string | undefined {
  if (s.test !== "01_steady") return undefined;
  if (s.lag && s.lag.p99 >= 1) {
    return `Generator lag p99 is ${f2(s.lag.p99)} ms (max ${f2(s.lag.max)} ms): the load ` +
      `generator fell behind its schedule, so response times include its own delay. ` +
      `Service time (done − issued) excludes it.`;
  }
  if (end?.valid === false) {
    return "smft judged this run invalid (achieved rate off target or generator lag): treat " +
      "its latencies with care.";
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// HTML helpers

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const f2 = (v: number): string => v.toFixed(2);
const f1 = (v: number): string => v.toFixed(1);
const int = (v: number): string => Math.round(v).toLocaleString("en-US");
const msCell = (v: number | undefined): string => v === undefined ? "–" : f2(v);

/** Colour per run (Okabe–Ito-like, readable for colour-blind viewers); merged runs are black. */
const RUN_COLORS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#8c564b"];
const MERGED_COLOR = "#222222";
const runColor = (r: ReportRun, i: number): string =>
  r.merged ? MERGED_COLOR : r.color ?? RUN_COLORS[i % RUN_COLORS.length];

/** Phase segments of a cold connection, bottom of the bar first. */
const SEGMENTS = [
  { key: "dns", label: "DNS", color: "#9ecae1" },
  { key: "tcp", label: "TCP connect", color: "#4292c6" },
  { key: "tls", label: "TLS handshake", color: "#fd8d3c" },
  { key: "h2", label: "HTTP/2 settings", color: "#74c476" },
  { key: "rest", label: "rest of connect", color: "#bdbdbd" },
  { key: "first_rpc", label: "first RPC", color: "#756bb1" },
] as const;
type SegmentKey = (typeof SEGMENTS)[number]["key"];

/** Phase durations from the cumulative times of one attempt (clamped at 0 against clock noise). */
export function phaseSegments(p: Partial<Record<Phase, number>>): Record<SegmentKey, number> {
  let before = 0;
  const seg = {} as Record<SegmentKey, number>;
  for (const k of ["dns", "tcp", "tls", "h2"] as const) {
    const v = p[k];
    seg[k] = v === undefined ? 0 : Math.max(0, v - before);
    if (v !== undefined) before = Math.max(before, v);
  }
  seg.rest = p.connect === undefined ? 0 : Math.max(0, p.connect - before);
  seg.first_rpc = p.first_rpc ?? 0;
  return seg;
}

// ---------------------------------------------------------------------------------------------
// Chart specifications (drawn by the page script)

interface ChartSeries {
  label: string;
  color: string;
  y: (number | null)[];
  width?: number;
  dash?: number[];
  /** Bars rather than a line. */
  bars?: boolean;
  /** Right-hand axis (second scale). */
  right?: boolean;
  /** Stacked bars: the segment's own value, shown in the legend instead of the stack height. */
  raw?: number[];
  /** Marks attempts rather than measuring them: the legend says "yes" instead of a value. */
  marker?: boolean;
}

interface ChartSpec {
  id: string;
  kind: "lines" | "spectrum" | "stacked";
  title: string;
  xLabel: string;
  yLabel: string;
  y2Label?: string;
  logY?: boolean;
  height: number;
  /** Charts with the same key share the cursor. */
  sync?: string;
  x: number[];
  series: ChartSeries[];
  /** A caption under the chart: how to read it. */
  caption: string;
}

/** Rounds to µs so the embedded data stays small. */
const r3 = (v: number): number => Math.round(v * 1000) / 1000;

function perSecondCharts(runs: ReportRun[], prefix: string): ChartSpec[] {
  const xs = [...new Set(runs.flatMap((r) => r.perSecond.map((p) => p.s)))].sort((a, b) => a - b);
  const at = (r: ReportRun, f: (p: SecondStats) => number | null) => {
    const m = new Map(r.perSecond.map((p) => [p.s, p]));
    return xs.map((s) => {
      const p = m.get(s);
      return p ? f(p) : null;
    });
  };
  const single = runs.length === 1;
  const lat: ChartSeries[] = [];
  const rate: ChartSeries[] = [];
  const w = Math.max(...runs.map((r) => r.windowS ?? 1));
  const last = xs.reduce((m, x) => Math.max(m, x), 0) + w;
  // Counts per window become rates; the last window may be cut short by the end of the run.
  const perS = (r: ReportRun, p: SecondStats, v: number) =>
    r3(v / Math.max(1, Math.min(r.windowS ?? 1, last - p.s)));
  const targets = new Set<number>();
  runs.forEach((r, i) => {
    const c = runColor(r, i);
    const name = single ? "" : `${r.name} `;
    // Seconds without a successful call have no latency: a gap, not a fake zero.
    const v = (f: (p: SecondStats) => number) => at(r, (p) => p.ok > 0 ? r3(f(p)) : null);
    lat.push({
      label: `${name}max`,
      color: single ? "#9e9e9e" : c,
      y: v((p) => p.max),
      width: 1,
      dash: [4, 3],
    });
    lat.push({ label: `${name}p99`, color: single ? "#d55e00" : c, y: v((p) => p.p99), width: 2 });
    lat.push({
      label: `${name}p50`,
      color: single ? "#0072b2" : c,
      y: v((p) => p.p50),
      width: single ? 2 : 1,
      dash: single ? undefined : [1, 2],
    });
    // Beside the response time, so a spike can be told apart from the generator's own delay.
    if (single && r.perSecond.some((p) => p.lagP99 > 0)) {
      lat.push({
        label: "generator lag p99",
        color: "#7f7f7f",
        y: at(r, (p) => r3(p.lagP99)),
        width: 1,
        dash: [1, 3],
      });
    }
    rate.push({
      label: `${name}requests/s`,
      color: single ? "#0072b2" : c,
      y: at(r, (p) => perS(r, p, p.n)),
      width: 2,
    });
    const target = targetRate(r);
    if (target !== undefined && !targets.has(target)) {
      // One line per distinct target: runs at the same rate share it.
      targets.add(target);
      rate.push({
        label: single || runs.length === 1 ? "target rate" : `target rate ${target}/s`,
        color: "#9e9e9e",
        y: at(r, () => target),
        width: 1,
        dash: [6, 4],
      });
    }
    // Bars of several runs would hide each other: dotted lines then.
    rate.push({
      label: `${name}errors/s`,
      color: single ? "#c62828" : c,
      y: at(r, (p) => perS(r, p, p.errors)),
      bars: single,
      right: true,
      width: single ? undefined : 1.5,
      dash: single ? undefined : [2, 2],
    });
  });
  // reduce, not spread: a long run has more rows than a call takes arguments.
  const rows = runs.flatMap((r) => r.perSecond);
  const maxY = rows.reduce((m, p) => Math.max(m, p.max), 0);
  const minY = rows.filter((p) => p.ok).reduce((m, p) => Math.min(m, p.p50), Infinity);
  const per = w === 1 ? "second" : `${w} s window`;
  return [
    {
      id: `${prefix}-latency-time`,
      kind: "lines",
      title: `Response time over the run (successful calls, per ${per})`,
      xLabel: "seconds since start of measurement",
      yLabel: "response time (ms)",
      logY: wantLog(minY, maxY),
      height: 330,
      sync: prefix,
      x: xs,
      series: lat,
      caption: `Each point is one ${per} of intended send times: its p50, p99 and maximum ` +
        "response time (done − intended, so generator delays are included)" +
        (single ? ", and the p99 of the generator's own lag (issued − intended)." : "."),
    },
    {
      id: `${prefix}-rate-time`,
      kind: "lines",
      title: "Requests and errors per second",
      xLabel: "seconds since start of measurement",
      yLabel: "requests / s",
      y2Label: "errors / s",
      height: 220,
      sync: prefix,
      x: xs,
      series: rate,
      caption: `Requests counted by the ${per} they were scheduled in; errors are calls that ` +
        `ended with a non-OK status (${single ? "bars" : "dotted lines"}, right axis).`,
    },
  ];
}

/** The rate a file's host was asked for: its share when the load was split over hosts. */
function targetRate(r: ReportRun): number | undefined {
  return num(r.meta?.host_rate) ?? num(r.meta?.rate);
}

/** A log axis when the spread is wide enough that a linear one would flatten the body. */
function wantLog(min: number, max: number): boolean {
  return Number.isFinite(min) && min > 0 && max / min > 20;
}

interface SpectrumLine {
  label: string;
  color: string;
  points: SpectrumPoint[];
  width?: number;
  dash?: number[];
  /** The curve the y scale is chosen for. */
  primary?: boolean;
}

function spectrumChart(
  id: string,
  title: string,
  lines: SpectrumLine[],
  caption: string,
): ChartSpec {
  // x = 1/(1-p): a log axis that gives each "nine" the same width.
  const toX = (p: number) => r3(1 / (1 - p / 100));
  const xs = [...new Set(lines.flatMap((l) => l.points.map(([p]) => toX(p))))].sort((a, b) =>
    a - b
  );
  const series = lines.map((l) => {
    const m = new Map(l.points.map(([p, v]) => [toX(p), r3(v)]));
    return {
      label: l.label,
      color: l.color,
      width: l.width ?? 2,
      dash: l.dash,
      y: xs.map((x) => m.get(x) ?? null),
    };
  });
  // The scale follows the primary curves (response or total time): lag near zero is the
  // good case and may sit flat on the axis rather than stretch it.
  const main = lines.filter((l) => l.primary);
  const vals = main.flatMap((l) => l.points.map(([, v]) => v));
  const pos = vals.filter((v) => v > 0);
  return {
    id,
    kind: "spectrum",
    title,
    xLabel: "percentile",
    yLabel: "latency (ms)",
    logY: wantLog(pos.length ? Math.min(...pos) : 0, Math.max(0, ...vals)),
    height: 380,
    x: xs,
    series,
    caption,
  };
}

function steadySpectrum(runs: ReportRun[]): ChartSpec {
  const single = runs.length === 1;
  const lines: SpectrumLine[] = [];
  runs.forEach((r, i) => {
    const c = runColor(r, i);
    const n = single ? "" : `${r.name} `;
    const s = r.spectrum;
    // With several runs, fewer curves each: df handling stays in the table, and the merged
    // run shows only its response time.
    const extra = !r.merged;
    if (s.latency) {
      lines.push({
        label: `${n}response time`,
        color: single ? "#0072b2" : c,
        points: s.latency,
        width: 2.5,
        primary: true,
      });
    }
    if (s.service && extra) {
      lines.push({
        label: `${n}service time`,
        color: single ? "#009e73" : c,
        points: s.service,
        width: 1.5,
        dash: single ? undefined : [6, 3],
      });
    }
    if (s.df && single) {
      lines.push({
        label: `${n}df handling`,
        color: single ? "#cc79a7" : c,
        points: s.df,
        width: 2,
        dash: [3, 3],
      });
    }
    if (s.lag && extra) {
      lines.push({
        label: `${n}generator lag`,
        color: single ? "#9e9e9e" : c,
        points: s.lag,
        width: 1.5,
        dash: [1, 3],
      });
    }
  });
  return spectrumChart(
    "steady-spectrum",
    "Latency by percentile (successful calls)",
    lines,
    "Read a curve at a percentile to get the latency that share of calls stayed under. " +
      "Response time = done − intended; service time = done − issued; generator lag = issued − " +
      "intended; df handling = df's own time from its trailing metadata.",
  );
}

function coldSpectrum(runs: ReportRun[]): ChartSpec {
  const single = runs.length === 1;
  const lines: SpectrumLine[] = [];
  runs.forEach((r, i) => {
    const c = runColor(r, i);
    const n = single ? "" : `${r.name} `;
    const s = r.spectrum;
    if (s.total) {
      lines.push({
        label: `${n}connect + first RPC`,
        color: single ? "#0072b2" : c,
        points: s.total,
        width: 2.5,
        primary: true,
      });
    }
    if (s.connect && !r.merged) {
      lines.push({
        label: `${n}connect`,
        color: single ? "#fd8d3c" : c,
        points: s.connect,
        width: 1.5,
        dash: single ? undefined : [6, 3],
      });
    }
    if (s.first_rpc && !r.merged) {
      lines.push({
        label: `${n}first RPC`,
        color: single ? "#756bb1" : c,
        points: s.first_rpc,
        width: 1.5,
        dash: [2, 2],
      });
    }
  });
  return spectrumChart(
    "cold-spectrum",
    "Cold connection time by percentile (successful attempts)",
    lines,
    "Each attempt opens a new TLS channel: connect = until the channel is ready; first RPC = " +
      "the first call on it.",
  );
}

/** Bars beyond this many attempts are grouped (means of k attempts): thinner than a pixel. */
const MAX_BARS = 600;

function attemptChart(run: ReportRun, idx: number): ChartSpec | undefined {
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
    title: `Where each connection's time went: ${run.name}`,
    xLabel: k > 1 ? `attempt (each bar: mean of ${k} attempts)` : "attempt",
    yLabel: "ms from attempt start",
    height: 330,
    x,
    series,
    caption: "Phases in order from the bottom: DNS, TCP connect, TLS handshake, HTTP/2 settings " +
      "exchange, the rest of the channel connect, then the first RPC (differences of the " +
      "cumulative phase times). A pale red column marks a failed attempt (its bar shows the phases it completed).",
  };
}

// ---------------------------------------------------------------------------------------------
// Tables

const STAT_COLS = ["count", "mean", "min", "p50", "p90", "p95", "p99", "p99.9", "max"];
const statCells = (st: Stat | undefined): string =>
  st
    ? [
      int(st.count),
      f2(st.mean),
      f2(st.min),
      f2(st.p50),
      f2(st.p90),
      f2(st.p95),
      f2(st.p99),
      f2(st.p999),
      f2(st.max),
    ]
      .map((v) => `<td class="n">${v}</td>`).join("")
    : `<td class="n" colspan="9">–</td>`;

function runCell(r: ReportRun, i: number): string {
  return `<td class="run"><span class="swatch" style="background:${runColor(r, i)}"></span>${
    esc(r.name)
  }</td>`;
}

/** A run's rows of a table, its name once (spanning them) rather than on every row. */
function grouped(r: ReportRun, i: number, cells: string[]): string[] {
  return cells.map((c, j) =>
    j === 0
      ? `<tr class="first">${
        runCell(r, i).replace("<td", `<td rowspan="${cells.length}"`)
      }${c}</tr>`
      : `<tr>${c}</tr>`
  );
}

function sloCell(r: ReportRun): string {
  if (!r.verdicts?.length) return `<td class="c muted">–</td>`;
  const failed = r.verdicts.filter((v) => !v.pass).length;
  return failed === 0
    ? `<td class="c"><span class="badge pass">PASS</span></td>`
    : `<td class="c"><span class="badge fail">FAIL</span> <span class="muted">${failed}/${r.verdicts.length}</span></td>`;
}

function errorsText(s: Summary): string {
  if (s.failed === 0) return "0";
  const codes = Object.entries(s.byCode).filter(([k]) => k !== "OK").sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${esc(k)} ${int(v)}`).join(", ");
  return `<span class="bad">${int(s.failed)}</span> <span class="codes">${codes}</span>`;
}

function steadyOverview(runs: ReportRun[]): string {
  const rows = runs.map((r, i) => {
    const s = r.summary;
    const l = s.latency;
    const target = targetRate(r);
    const rate = s.achievedRate === undefined ? "–" : f1(s.achievedRate);
    return `<tr>${runCell(r, i)}<td>${esc(str(r.meta?.target) ?? "–")}</td>` +
      `<td class="n">${target === undefined ? "–" : int(target)}</td><td class="n">${rate}</td>` +
      `<td class="n">${int(s.total)}</td><td class="n">${successPct(s)}</td><td>${
        errorsText(s)
      }</td>` +
      `<td class="n">${msCell(l?.p50)}</td><td class="n">${msCell(l?.p90)}</td>` +
      `<td class="n strong">${msCell(l?.p99)}</td><td class="n">${msCell(l?.p999)}</td>` +
      `<td class="n">${msCell(l?.max)}</td>${sloCell(r)}</tr>`;
  });
  return `<div class="scroll"><table class="overview"><thead><tr><th rowspan="2">results file</th>` +
    `<th rowspan="2">target</th><th class="c grp" colspan="2">rate (requests/s)</th>` +
    `<th class="n" rowspan="2">requests</th><th class="n" rowspan="2">success</th>` +
    `<th rowspan="2">errors</th><th class="c grp" colspan="5">response time (ms)</th>` +
    `<th class="c" rowspan="2">SLO</th></tr><tr><th class="n">target</th><th class="n">achieved</th>` +
    `<th class="n">p50</th><th class="n">p90</th><th class="n">p99</th><th class="n">p99.9</th>` +
    `<th class="n">max</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>` +
    `<p class="caption">Response time of successful calls, measured from when each request should ` +
    `have been sent (no coordinated omission). Full statistics further down.</p>`;
}

function coldOverview(runs: ReportRun[]): string {
  const rows = runs.map((r, i) => {
    const s = r.summary;
    const p = s.phases ?? {};
    return `<tr>${runCell(r, i)}<td>${esc(str(r.meta?.target) ?? "–")}</td>` +
      `<td class="n">${int(s.total)}</td><td class="n">${successPct(s)}</td><td>${
        errorsText(s)
      }</td>` +
      `<td class="n">${msCell(p.connect?.p50)}</td><td class="n">${msCell(p.connect?.p99)}</td>` +
      `<td class="n">${msCell(p.first_rpc?.p50)}</td><td class="n">${
        msCell(p.first_rpc?.p99)
      }</td>` +
      `<td class="n">${msCell(p.total?.p50)}</td><td class="n strong">${
        msCell(p.total?.p99)
      }</td>` +
      `<td class="n">${msCell(p.total?.max)}</td><td class="n">${msCell(p.total?.mean)}</td>${
        sloCell(r)
      }</tr>`;
  });
  return `<div class="scroll"><table class="overview"><thead><tr><th rowspan="2">results file</th><th rowspan="2">target</th>` +
    `<th class="n" rowspan="2">attempts</th><th class="n" rowspan="2">success</th><th rowspan="2">errors</th>` +
    `<th class="c grp" colspan="2">connect ms</th><th class="c grp" colspan="2">first RPC ms</th>` +
    `<th class="c grp" colspan="4">connect + first RPC ms</th><th class="c" rowspan="2">SLO</th></tr>` +
    `<tr><th class="n">p50</th><th class="n">p99</th><th class="n">p50</th><th class="n">p99</th>` +
    `<th class="n">p50</th><th class="n">p99</th><th class="n">max</th><th class="n">mean</th></tr>` +
    `</thead><tbody>${rows.join("")}</tbody></table></div>`;
}

const successPct = (s: Summary): string =>
  `<span class="${s.failed ? "bad" : ""}">${
    s.successPct === 100 ? "100" : s.successPct.toFixed(2)
  } %</span>`;

function steadyStatsTable(runs: ReportRun[]): string {
  const kinds: [keyof Summary, string][] = [
    ["latency", "response time (ok)"],
    ["latencyAll", "response time (all outcomes)"],
    ["service", "service time"],
    ["df", "df handling"],
    ["lag", "generator lag"],
  ];
  const rows = runs.flatMap((r, i) =>
    grouped(
      r,
      i,
      kinds.filter(([k]) => r.summary[k]).map(([k, label]) =>
        `<td>${label}</td>${statCells(r.summary[k] as Stat)}`
      ),
    )
  );
  return `<table class="stats"><thead><tr><th>results file</th><th>measure (ms)</th>` +
    STAT_COLS.map((c) => `<th class="n">${c}</th>`).join("") +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const PHASE_LABELS: Record<Phase, string> = {
  dns: "DNS resolved",
  tcp: "TCP connected",
  tls: "TLS handshake done",
  h2: "HTTP/2 settings received",
  connect: "channel ready (connect)",
  first_rpc: "first RPC (own duration)",
  total: "connect + first RPC",
};

function coldPhaseTable(runs: ReportRun[]): string {
  const rows = runs.flatMap((r, i) => {
    const p = r.summary.phases ?? {};
    return grouped(
      r,
      i,
      (Object.keys(PHASE_LABELS) as Phase[]).filter((k) => p[k]).map((k) =>
        `<td>${PHASE_LABELS[k]}</td>${statCells(p[k])}`
      ),
    );
  });
  return `<table class="stats"><thead><tr><th>results file</th><th>phase (ms from attempt start)</th>` +
    STAT_COLS.map((c) => `<th class="n">${c}</th>`).join("") +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>` +
    `<p class="caption">DNS, TCP, TLS and HTTP/2 are cumulative: the time from the start of the ` +
    `attempt until that phase finished. First RPC is the first call's own duration.</p>`;
}

/**
 * Per-phase durations of successful attempts (the segments of the bars), from the attempt rows:
 * the summary holds cumulative times only. Nearest-rank percentiles of the exact values.
 */
function coldDurationTable(runs: ReportRun[]): string {
  const rows = runs.flatMap((r, i) => {
    const ok = (r.attempts ?? []).filter((a) => a.ok).map((a) => phaseSegments(a.phases));
    if (ok.length === 0) return [];
    return grouped(
      r,
      i,
      SEGMENTS.filter((seg) => ok.some((v) => v[seg.key] > 0)).map((seg) => {
        const v = ok.map((o) => o[seg.key]).sort((a, b) => a - b);
        const at = (p: number) => v[Math.max(1, Math.ceil((p / 100) * v.length)) - 1];
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const cells = [int(v.length), f2(mean), f2(v[0]), f2(at(50)), f2(at(90)), f2(at(95))]
          .concat([f2(at(99)), f2(at(99.9)), f2(v[v.length - 1])]);
        return `<td><span class="swatch" style="background:${seg.color}"></span>${seg.label}</td>` +
          cells.map((c) => `<td class="n">${c}</td>`).join("");
      }),
    );
  });
  if (rows.length === 0) return "";
  return `<table class="stats"><thead><tr><th>results file</th><th>phase duration (ms)</th>` +
    STAT_COLS.map((c) => `<th class="n">${c}</th>`).join("") +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>` +
    `<p class="caption">How long each phase itself took (the segments of the bars above), over ` +
    `the successful attempts the report holds.</p>`;
}

function coldFailures(runs: ReportRun[]): string {
  const count = (o: Record<string, number>) =>
    Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${esc(k)} ${int(v)}`).join(", ");
  const rows = runs.filter((r) => r.summary.failed > 0).map((r, i) => {
    const codes = Object.fromEntries(Object.entries(r.summary.byCode).filter(([k]) => k !== "OK"));
    return `<tr>${runCell(r, i)}<td class="n bad">${int(r.summary.failed)}</td>` +
      `<td>${count(codes)}</td><td>${count(r.summary.failedByPhase ?? {}) || "–"}</td></tr>`;
  });
  return rows.length
    ? `<h3>Failed attempts</h3><table class="stats narrow"><thead><tr><th>results file</th>` +
      `<th class="n">failed</th><th>status codes</th><th>phase reached when it failed</th></tr></thead>` +
      `<tbody>${rows.join("")}</tbody></table>`
    : "";
}

const str = (v: unknown): string | undefined =>
  typeof v === "string"
    ? v
    : typeof v === "number" || typeof v === "boolean"
    ? String(v)
    : undefined;

/** Metadata rows: label and how to read it from (meta, end). */
const META_ROWS: [
  string,
  (m: Record<string, unknown>, e: Record<string, unknown>) => string | undefined,
][] = [
  ["test", (m) => str(m.test)],
  ["target", (m) => str(m.target)],
  ["server name (SNI)", (m) => str(m.server_name)],
  ["TLS mode", (m) => str(m.tls_mode)],
  ["TLS version", (m) => str(obj(m.tls).version)],
  ["TLS cipher", (m) => str(obj(m.tls).cipher)],
  ["ALPN", (m) => str(obj(m.tls).alpn)],
  ["server certificate", (m) => str(obj(m.tls).peer_subject)],
  ["rate (requests/s)", (m) => str(m.rate)],
  ["rate from this host (requests/s)", (m) => str(m.host_rate)],
  ["duration (s)", (m) => str(m.duration_s)],
  ["warm-up (s)", (m) => str(m.warmup_s)],
  ["deadline (ms)", (m) => str(m.deadline_ms)],
  ["attempts", (m) => m.attempts === null ? "until duration" : str(m.attempts)],
  ["TLS resumption", (m) => str(m.resumption)],
  ["payload (bytes)", (m) => str(m.payload_bytes)],
  ["planned requests", (m) => str(m.planned_requests)],
  [
    "started (UTC)",
    (m) =>
      num(m.start_epoch_ms) === undefined
        ? undefined
        : isoUtc(new Date(m.start_epoch_ms as number)),
  ],
  ["load host", (m) => str(m.host)],
  ["shard", (m) => str(m.shard)],
  ["tool", (m) => str(m.tool)],
  ["Deno", (m) => str(m.deno)],
  ["grpc-js", (m) => str(m.grpc_js)],
  ["results written", (_, e) => str(e.count)],
  ["sent (measured)", (_, e) => str(e.sent)],
  ["elapsed (s)", (_, e) => num(e.elapsed_s) === undefined ? undefined : f1(e.elapsed_s as number)],
  [
    "achieved rate (file's #END)",
    (_, e) => num(e.achieved_rps) === undefined ? undefined : f1(e.achieved_rps as number),
  ],
  ["interrupted", (_, e) => str(e.interrupted)],
  ["generator kept schedule (valid)", (_, e) => str(e.valid)],
  ["generator CPU (s)", (_, e) => str(e.cpu_s)],
  ["generator peak RSS (MB)", (_, e) => str(e.rss_max_mb)],
];
const KNOWN_META = new Set([
  "test",
  "target",
  "server_name",
  "tls_mode",
  "tls",
  "rate",
  "duration_s",
  "warmup_s",
  "deadline_ms",
  "attempts",
  "resumption",
  "payload_bytes",
  "start_epoch_ms",
  "host",
  "shard",
  "tool",
  "deno",
  "grpc_js",
  "host_rate",
  "planned_requests",
  "measure_start_epoch_ms",
]);

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? v as Record<string, unknown>
    : {};
}

function metaTable(runs: ReportRun[]): string {
  const files = runs.filter((r) => !r.merged);
  const rows: string[] = [];
  for (const [label, get] of META_ROWS) {
    const vals = files.map((r) => get(r.meta ?? {}, r.end ?? {}));
    if (vals.every((v) => v === undefined)) continue;
    rows.push(`<tr><th>${label}</th>${vals.map((v) => `<td>${esc(v ?? "–")}</td>`).join("")}</tr>`);
  }
  // Fields this report does not know yet still belong in the record.
  const extra = [...new Set(files.flatMap((r) => Object.keys(r.meta ?? {})))].filter((k) =>
    !KNOWN_META.has(k)
  );
  for (const k of extra.sort()) {
    const vals = files.map((r) => r.meta?.[k]);
    rows.push(
      `<tr><th>${esc(k)}</th>${
        vals.map((v) => `<td>${esc(v === undefined ? "–" : str(v) ?? JSON.stringify(v))}</td>`)
          .join("")
      }</tr>`,
    );
  }
  if (rows.length === 0) {
    return `<p class="muted">No run metadata (seed-format files carry none).</p>`;
  }
  return `<table class="meta"><thead><tr><th></th>${
    files.map((r, i) => runCell(r, i).replace("<td", "<th").replace("</td>", "</th>")).join("")
  }</tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`;
}

function verdictBlock(runs: ReportRun[]): string {
  const withV = runs.filter((r) => r.verdicts?.length);
  if (withV.length === 0) return "";
  const items = withV.map((r) =>
    `<div class="verdicts"><h3>${esc(r.name)}</h3><ul class="plain">` +
    r.verdicts!.map((v) =>
      `<li><span class="badge ${v.pass ? "pass" : "fail"}">${v.pass ? "PASS" : "FAIL"}</span> ${
        esc(v.text)
      }</li>`
    ).join("") + `</ul></div>`
  );
  return `<section><h2>SLO verdicts</h2><div class="verdict-grid">${
    items.join("")
  }</div></section>`;
}

function notesBlock(runs: ReportRun[]): string {
  const items = runs.flatMap((r) =>
    (r.notes ?? []).map((n) => `<li><b>${esc(r.name)}</b>: ${esc(n)}</li>`)
  );
  return items.length
    ? `<div class="notes"><h3>Read with care</h3><ul>${items.join("")}</ul></div>`
    : "";
}

function chartBox(c: ChartSpec): string {
  return `<figure class="chart"><figcaption class="chart-title">${esc(c.title)}</figcaption>` +
    `<div class="plot" id="${c.id}" style="min-height:${c.height + 30}px"></div>` +
    `<p class="caption">${esc(c.caption)}</p></figure>`;
}

function isoUtc(d: Date): string {
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function overall(runs: ReportRun[]): string {
  const judged = runs.filter((r) => r.verdicts?.length);
  if (judged.length === 0) return "";
  const failed = judged.filter((r) => r.verdicts!.some((v) => !v.pass));
  const clauses = (r: ReportRun) => {
    const n = r.verdicts!.length;
    const bad = r.verdicts!.filter((v) => !v.pass).length;
    return `${esc(r.name)} (${bad} of ${n} clause${n === 1 ? "" : "s"} failed)`;
  };
  return failed.length === 0
    ? `<div class="banner pass">SLO met: every clause passed for ${
      judged.map((r) => esc(r.name)).join(", ")
    }.</div>`
    : `<div class="banner fail">SLO not met: ${failed.map(clauses).join(", ")}.</div>`;
}

// ---------------------------------------------------------------------------------------------
// The page

/** Renders the report: one HTML page with everything inlined, no network requests. */
export function renderReport(input: ReportRun[], opts: RenderOptions = {}): string {
  // One colour per file across every chart and table of the page.
  let k = 0;
  const runs = input.map((r) =>
    r.merged || r.color ? r : { ...r, color: RUN_COLORS[k++ % RUN_COLORS.length] }
  );
  const title = opts.title ?? "gRPC latency report";
  const when = isoUtc(opts.generatedAt ?? new Date());
  const steady = runs.filter((r) => r.test === "01_steady");
  const cold = runs.filter((r) => r.test === "02_coldconn");
  const charts: ChartSpec[] = [];
  const body: string[] = [];

  const files = runs.filter((r) => !r.merged);
  body.push(
    `<header><h1>${esc(title)}</h1><p class="muted">Generated ${esc(when)} from ` +
      `${files.length} results file${files.length === 1 ? "" : "s"}: ` +
      `${files.map((r) => `<code>${esc(r.name)}</code>`).join(", ")}</p></header>`,
  );
  body.push(overall(runs));

  body.push(`<section><h2>Summary</h2>`);
  if (steady.length) {
    body.push(`<h3>Steady load (fixed rate, one reused channel)</h3>${steadyOverview(steady)}`);
  }
  if (cold.length) {
    body.push(`<h3>Cold connections (new TLS channel per attempt)</h3>${coldOverview(cold)}`);
  }
  if (runs.length === 0) body.push(`<p class="muted">No results.</p>`);
  body.push(notesBlock(runs), `</section>`);
  body.push(verdictBlock(runs));

  if (steady.length) {
    // Merged figures are in the tables and the spectrum; over time they would hide the files.
    const timeRuns = steady.filter((r) => !r.merged && r.perSecond.length);
    const timeCharts = timeRuns.length ? perSecondCharts(timeRuns, "steady") : [];
    const spec = steadySpectrum(steady);
    charts.push(...timeCharts, spec);
    body.push(`<section><h2>Steady load</h2>`);
    body.push(timeCharts.map(chartBox).join(""));
    body.push(chartBox(spec));
    body.push(`<h3>Latency statistics</h3>${steadyStatsTable(steady)}</section>`);
  }
  if (cold.length) {
    const bars = cold.filter((r) => !r.merged).map((r, i) => attemptChart(r, i))
      .filter((c): c is ChartSpec => c !== undefined);
    const spec = coldSpectrum(cold);
    charts.push(...bars, spec);
    body.push(`<section><h2>Cold connections</h2>`);
    body.push(bars.map(chartBox).join(""), chartBox(spec));
    body.push(
      `<h3>Phase durations</h3>${coldDurationTable(cold.filter((r) => !r.merged))}`,
      `<h3>Phase percentiles, from the start of the attempt</h3>${coldPhaseTable(cold)}`,
      `${coldFailures(cold)}</section>`,
    );
  }
  body.push(`<section><h2>Run metadata</h2>${metaTable(runs)}</section>`);
  body.push(
    `<footer><div id="render-status" data-charts="0" data-errors="0" data-expected="${charts.length}"` +
      ` data-done="0"></div><p class="muted">Charts drawn with uPlot ${UPLOT_VERSION} (MIT License, ` +
      `Copyright (c) 2022 Leon Sorokin), inlined: this page makes no network requests. ` +
      `Hover a chart to read values; drag to zoom, double-click to reset; click a legend entry to ` +
      `hide a series.</p></footer>`,
  );

  const data = JSON.stringify(charts).replace(/</g, "\\u003c");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<script>${ERROR_HOOK_JS}</script>
<style>${UPLOT_CSS}
${PAGE_CSS}</style>
</head>
<body>
<main>
${body.join("\n")}
</main>
<noscript><p class="notes">Charts need JavaScript; the tables above hold every figure.</p></noscript>
<script type="application/json" id="report-data">${data}</script>
<script>/* uPlot ${UPLOT_VERSION} | MIT License | Copyright (c) 2022 Leon Sorokin */
${stripBanner(UPLOT_JS)}</script>
<script>${PAGE_JS}</script>
</body>
</html>
`;
}

/** The library's banner names its home page; the attribution above keeps the license notice. */
function stripBanner(js: string): string {
  return js.replace(/^\/\*![^*]*\*\/\s*/, "");
}

// Counts errors from the very start, so a library failure is reported too; a blocked resource
// (the page's policy allows none) counts as an error, so a test sees any attempt to load one.
const ERROR_HOOK_JS =
  `(function(){var errs=window.__reportErrors=[];function count(m){errs.push(m);` +
  `var s=document.getElementById("render-status");` +
  `if(s)s.setAttribute("data-errors",String(errs.length));}` +
  `window.addEventListener("error",function(e){count(String(e.message||e));});` +
  `document.addEventListener("securitypolicyviolation",function(e){` +
  `count("blocked by the page policy: "+e.blockedURI);});})();`;

const PAGE_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #5f6b76; --line: #d8dee4; --bg-alt: #f6f8fa;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 20px 40px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
h2 { font-size: 19px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
code { font: 12.5px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: var(--bg-alt);
  padding: 1px 4px; border-radius: 3px; }
.muted { color: var(--muted); }
.bad { color: var(--fail); font-weight: 600; }
.codes { display: block; color: var(--muted); font-size: 12px; }
.scroll { overflow-x: auto; }
table.narrow { width: auto; min-width: 60%; }
table { border-collapse: collapse; width: 100%; margin: 4px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--bg-alt); font-weight: 600; font-size: 12.5px; white-space: nowrap; }
th.n, td.n { text-align: right; white-space: nowrap; }
th.c, td.c { text-align: center; white-space: nowrap; }
th.grp { border-bottom: 1px solid #b8c0c8; }
td.strong { font-weight: 700; }
td.run { white-space: nowrap; font-weight: 600; }
table.stats tr.first > td { border-top: 1px solid #b8c0c8; }
table.meta th { width: 220px; background: none; font-weight: 600; }
table.meta thead th { background: var(--bg-alt); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px;
  vertical-align: baseline; }
.badge { display: inline-block; min-width: 44px; text-align: center; padding: 1px 6px; border-radius: 4px;
  font-weight: 700; font-size: 12px; }
.badge.pass { color: var(--pass); background: var(--pass-bg); border: 1px solid var(--pass); }
.badge.fail { color: #fff; background: var(--fail); border: 1px solid var(--fail); }
.banner { margin: 12px 0 0; padding: 10px 14px; border-radius: 6px; font-weight: 700; font-size: 16px; }
.banner.pass { color: var(--pass); background: var(--pass-bg); border: 1px solid var(--pass); }
.banner.fail { color: var(--fail); background: var(--fail-bg); border: 1px solid var(--fail); }
.verdict-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 4px 24px; }
.verdicts h3 { margin: 6px 0 4px; }
ul.plain { list-style: none; padding: 0; margin: 4px 0; }
ul.plain li { padding: 2px 0; }
.notes { margin: 12px 0; padding: 8px 14px; border-left: 4px solid #bf8700; background: #fff8c5; }
.notes h3 { margin: 2px 0; }
.notes ul { margin: 4px 0; padding-left: 18px; }
.caption { color: var(--muted); font-size: 12.5px; margin: 4px 0 0; }
figure.chart { margin: 14px 0 18px; }
.chart-title { font-weight: 700; font-size: 15px; margin-bottom: 2px; }
.plot { width: 100%; }
.plot .u-legend { font-size: 12.5px; text-align: left; margin: 2px 0 0 50px; }
.plot .u-legend .u-series > * { padding: 1px 4px; }
.plot .uplot.idle .u-legend .u-value, .plot .uplot.idle .u-legend tr:first-child { display: none; }
.plot .uplot.idle .u-legend th::after { content: none; }
.plot .chart-error { color: var(--fail); padding: 20px; border: 1px dashed var(--fail); }
footer { margin-top: 30px; border-top: 1px solid var(--line); padding-top: 8px; font-size: 12.5px; }
@media print { .plot .u-legend { display: none; } section { break-inside: avoid-page; } }
`;

/**
 * Draws every chart spec with uPlot, then records in #render-status how many charts have a
 * visible canvas and how many errors happened (the browser test reads it).
 */
const PAGE_JS = String.raw`
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("report-data").textContent);
  var status = document.getElementById("render-status");
  var plots = [];

  function fmtMs(v) {
    if (v == null || isNaN(v)) return "–";
    return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
  }
  function fmtAxisMs(v) {
    if (v == null) return "";
    return v >= 1000 ? (v / 1000).toLocaleString("en-US") + "k" : v < 1 ? String(+v.toFixed(3)) : String(+v.toFixed(2));
  }
  // x = 1/(1-p) on the spectrum: back to a percentile, as many decimals as its "nines" need.
  function pctOf(x) {
    if (x == null) return "";
    var p = 100 * (1 - 1 / x);
    var d = Math.max(0, Math.ceil(Math.log10(x) - 1e-9) - 2);
    return (+p.toFixed(d + 1)).toString() + "%";
  }
  function logSplits(min, max) {
    var out = [];
    for (var e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      [1, 2, 5].forEach(function (m) {
        var v = m * Math.pow(10, e);
        if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
      });
    }
    return out;
  }
  var axisFont = "12px system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";
  var labelFont = "bold 12px system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";
  var grid = { stroke: "#e4e8ec", width: 1 };
  var ticks = { stroke: "#c8d0d8", width: 1, size: 4 };

  function yAxis(label, scale, side, log) {
    var a = { scale: scale, label: label, side: side, font: axisFont, labelFont: labelFont,
      grid: side === 1 ? { show: false } : grid, ticks: ticks, size: 56, labelSize: 22,
      values: function (u, splits) { return splits.map(fmtAxisMs); } };
    if (log) a.splits = function (u, i, min, max) { return logSplits(min, max); };
    return a;
  }

  function build(spec, width) {
    var series = [{ label: spec.kind === "spectrum" ? "percentile" : spec.kind === "stacked" ? "attempt" : "second",
      value: function (u, v) {
        if (v == null) return "–";
        return spec.kind === "spectrum" ? pctOf(v) : String(v);
      } }];
    var hasRight = false;
    spec.series.forEach(function (s) {
      var o = { label: s.label, stroke: s.color, width: s.width == null ? 1.5 : s.width, spanGaps: spec.kind === "spectrum",
        points: { show: spec.kind === "lines" && !s.bars && spec.x.length <= 60, size: 5 }, scale: s.right ? "y2" : "y" };
      if (s.dash) o.dash = s.dash;
      if (s.right) hasRight = true;
      if (s.bars) {
        o.paths = uPlot.paths.bars({ size: [0.8, 60], gap: 1 });
        o.fill = s.color;
        o.width = 0;
        if (!s.raw && s.right) { o.fill = s.color + "b0"; }
      }
      var raw = s.raw;
      o.value = function (u, v, si, idx) {
        if (s.marker) return v == null ? "no" : "yes";
        if (raw) return idx == null ? "–" : fmtMs(raw[idx]) + " ms";
        if (v == null) return "–";
        if (s.right || spec.yLabel.indexOf("requests") === 0) return String(Math.round(v));
        return fmtMs(v) + " ms";
      };
      series.push(o);
    });
    var scales = { y: { distr: spec.logY ? 3 : 1 } };
    if (!spec.logY) scales.y.range = function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; };
    if (hasRight) scales.y2 = { range: function (u, min, max) { return [0, Math.max(1, max * 1.15)]; } };
    var xAxis = { label: spec.xLabel, font: axisFont, labelFont: labelFont, grid: grid, ticks: ticks, size: 30, labelSize: 20 };
    if (spec.kind === "spectrum") {
      var xmax = spec.x[spec.x.length - 1] || 10;
      var top = Math.pow(10, Math.max(1, Math.ceil(Math.log10(xmax) - 1e-9)));
      scales.x = { time: false, distr: 3, log: 10, range: function () { return [1, top]; } };
      // Each decade of x is one more "nine"; the 2× points are 50 %, 95 %, 99.5 %...
      xAxis.splits = function (u, i, min, max) {
        var out = [];
        for (var v = 1; v <= max * 1.001; v *= 10) { out.push(v); if (v * 2 <= max) out.push(v * 2); }
        return out;
      };
      xAxis.values = function (u, splits) { return splits.map(pctOf); };
      // uPlot's log axes hide labels between powers of ten; these are wanted.
      xAxis.filter = function (u, splits) { return splits; };
    } else {
      scales.x = { time: false };
      if (spec.kind === "stacked" || spec.sync) {
        // Half a step either side, so the first and last bars are not cut in half.
        var n = spec.x.length, step = n > 1 ? spec.x[1] - spec.x[0] : 1;
        scales.x.range = function () { return [spec.x[0] - step / 2, spec.x[n - 1] + step / 2]; };
      }
      // Seconds and attempts are whole numbers: no ticks between them.
      xAxis.incrs = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000];
    }
    var axes = [xAxis, yAxis(spec.yLabel + (spec.logY ? ", log scale" : ""), "y", 3, spec.logY)];
    if (hasRight) {
      var a2 = yAxis(spec.y2Label || "", "y2", 1, false);
      a2.incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000];
      axes.push(a2);
    }
    var opts = { width: width, height: spec.height, series: series, scales: scales, axes: axes,
      legend: { live: true }, cursor: { points: { size: 6 }, drag: { x: true, y: false } },
      // Charts that share a cursor keep the same plot width: room for a right axis on each.
      padding: [10, hasRight ? 8 : spec.sync ? 86 : 28, 0, 0],
      // Values in the legend only while hovering: "–" everywhere would read as missing data.
      hooks: { setLegend: [function (u) { u.root.classList.toggle("idle", u.cursor.idx == null); }] } };
    if (spec.sync) opts.cursor.sync = { key: spec.sync };
    return opts;
  }

  function draw() {
    specs.forEach(function (spec) {
      var el = document.getElementById(spec.id);
      if (!el) return;
      try {
        var data = [spec.x].concat(spec.series.map(function (s) { return s.y; }));
        var p = new uPlot(build(spec, el.clientWidth || 1200), data, el);
        p.root.classList.add("idle");
        plots.push({ plot: p, el: el, spec: spec });
      } catch (e) {
        window.__reportErrors.push(String(e && e.message || e));
        var msg = document.createElement("div");
        msg.className = "chart-error";
        msg.textContent = "This chart could not be drawn: " + (e && e.message || e);
        el.appendChild(msg);
      }
    });
    var drawn = 0;
    plots.forEach(function (p) {
      var c = p.el.querySelector("canvas");
      if (c && c.width > 0 && c.height > 0 && c.getBoundingClientRect().width > 0) drawn++;
    });
    status.setAttribute("data-charts", String(drawn));
    status.setAttribute("data-errors", String(window.__reportErrors.length));
    status.setAttribute("data-height", String(document.documentElement.scrollHeight));
    status.setAttribute("data-done", "1");
  }

  var resizeTimer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (p) { p.plot.setSize({ width: p.el.clientWidth, height: p.spec.height }); });
    }, 100);
  });
  draw();
})();
`;

// ---------------------------------------------------------------------------------------------
// The command

const DEFS = {
  out: {
    flag: "out",
    meta: "<path>",
    default: "results/report.html",
    help: "where to write the page (folders are created)",
  },
  slo: {
    flag: "slo",
    meta: "<clauses>",
    parse: parseSlo,
    help: 'judge each test\'s figures (merged when several files), e.g. "p99<10ms,success>=99.9%"',
  },
  title: {
    flag: "title",
    meta: "<text>",
    parse: (raw: string) => raw,
    help: "page title (default: gRPC latency report)",
  },
};

/** `report --help`. */
export function reportHelp(): string {
  return `Usage: report FILE... [--out PATH] [--slo CLAUSES] [--title TEXT]

Draws one HTML page from results files written by smft (01_steady, 02_coldconn, or the seed's
bare format): summary tables, SLO verdicts, latency over time, requests and errors per second,
latency by percentile (response time, service time, generator lag), cold-connection phases per
attempt, and each run's metadata. Several files are overlaid, one colour each; files of one test
are also merged exactly, as summarize does. The page is self-contained (the charting library,
uPlot ${UPLOT_VERSION}, is inlined): it opens offline in any browser and makes no network requests.

Options:
${formatOptions(DEFS).split("\n").filter((l) => !l.includes("--env-file")).join("\n")}

Prints the path written. Exit status: 0 written (and every SLO clause passed), 1 bad input or
options (one line on stderr), 2 written, but an SLO clause failed.`;
}

/**
 * \`report FILE... [--out PATH] [--slo CLAUSES] [--title TEXT]\`: reads results files, judges the
 * SLO if given, writes the page (creating folders) and returns its path as stdout.
 */
export async function reportCommand(args: string[]): Promise<CommandResult> {
  const sets: ResultsSet[] = [];
  try {
    const cfg = resolveOptions(DEFS, { args, env: {}, positionals: true });
    if (cfg.help) return { code: 0, stdout: reportHelp(), stderr: "" };
    if (cfg.positionals.length === 0) {
      throw new ConfigError(
        "no results file given; usage: report FILE... [--out PATH] [--slo ...]",
      );
    }
    const { out, slo, title } = cfg.values;
    // readResultsMany takes one test at a time: group the files by their #TEST line first.
    for (const group of await groupByTest(cfg.positionals)) {
      sets.push(await readResultsMany(group, { keepSeries: true }));
    }
    const runs = runsOf(sets, slo);
    const html = renderReport(runs, { title });
    try {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, html);
    } catch (e) {
      throw new ConfigError(`${out}: cannot write (${(e as Error).message})`);
    }
    const failed = runs.some((r) => r.verdicts?.some((v) => !v.pass));
    return { code: failed ? 2 : 0, stdout: out, stderr: "" };
  } catch (e) {
    return { code: 1, stdout: "", stderr: `report: ${errorLine(e)}` };
  } finally {
    for (const set of sets) {
      set.combined.destroy();
      for (const f of set.files) f.acc.destroy();
    }
  }
}

/** Report runs of read files: one per file, then the merge of each test's files when several. */
function runsOf(sets: ResultsSet[], clauses?: SloClause[]): ReportRun[] {
  const all = sets.flatMap((s) => s.files);
  // Legends need short names; the full path only where two files share a name.
  const names = all.map((f) => basename(f.path));
  const nameOf = (f: ResultsFile) => {
    const b = basename(f.path);
    return names.filter((n) => n === b).length > 1 ? f.path : b;
  };
  const verdicts = (s: Summary): ReportVerdict[] | undefined =>
    clauses && judgeSlo(s, clauses).map((v) => ({
      // The badge says PASS or FAIL; the text keeps summarize's wording after it.
      text: formatVerdict(v).replace(/^(PASS|FAIL)\s+/, ""),
      pass: v.pass,
    }));
  const runs: ReportRun[] = [];
  for (const set of sets) {
    const several = set.files.length > 1;
    for (const f of set.files) {
      const notes = notesOf(f);
      if (f.seedFormat) {
        notes.push("seed (bare) format: no run metadata, and only what its lines hold");
      }
      const run = reportRunFromAccumulator(nameOf(f), f.test, f.acc, f.meta, undefined, {
        end: f.end,
        notes,
        durationS: durationOf(f),
      });
      if (!several) run.verdicts = verdicts(run.summary);
      runs.push(run);
    }
    if (several) {
      const merged = reportRunFromAccumulator(
        `${set.files.length} files merged`,
        set.test,
        set.combined,
        // The total rate applies to the merge only when the files are shards of one load.
        commonMeta(
          set.files,
          set.files.every((f) => f.meta?.host_rate) ? ["target", "rate"] : ["target"],
        ),
        undefined,
        { merged: true, durationS: set.durationS },
      );
      // As summarize does: the SLO is judged on the merged figures of files that ran together.
      merged.verdicts = verdicts(merged.summary);
      runs.push(merged);
    }
  }
  return runs;
}

/** The fields every file agrees on (the merged run's target, and its total rate for shards). */
function commonMeta(files: ResultsFile[], keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const values = new Set(files.map((f) => f.meta?.[k]));
    const [v] = values;
    if (values.size === 1 && v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Paths grouped by the test on their first line, in order of first appearance. A file that
 * cannot be read here gets a group of its own, where readResultsMany names the problem.
 */
async function groupByTest(paths: string[]): Promise<string[][]> {
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    const key = (await peekTest(p)) ?? `?${p}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()];
}

async function peekTest(path: string): Promise<string | undefined> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path);
    const buf = new Uint8Array(4096);
    const n = await file.read(buf);
    const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    const first = text.split("\n").find((l) => l.trim() !== "")?.trim();
    return first?.startsWith("#TEST=") ? first.slice(6).trim() : undefined;
  } catch {
    return undefined;
  } finally {
    file?.close();
  }
}
