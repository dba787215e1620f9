/**
 * The report's charts as data: the series and settings of each chart, which the page script
 * (`page_script.js`) draws with uPlot. Pure: runs in, chart specifications out.
 *
 * Private to `tools/report/`.
 *
 * @internal
 * @module
 */
import type { AttemptRow, SecondStats } from "../../smft/summary.ts";
import { r3 } from "../../smft/results_format.ts";
import { runColor, SEGMENTS } from "./_format.ts";
import {
  phaseSegments,
  type ReportRun,
  type SegmentKey,
  type SpectrumPoint,
  targetRate,
} from "./model.ts";

/** One line or set of bars of a chart. */
export interface ChartSeries {
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

/** One chart: what the page script hands to uPlot (`ChartSpec` in `page_script.js` too). */
export interface ChartSpec {
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

/**
 * The two charts over time of steady runs (response time; requests and errors per second),
 * sharing a cursor. Ids are `${prefix}-latency-time` and `${prefix}-rate-time`.
 *
 * @example
 * ```ts
 * perSecondCharts([run], "steady").map((c) => c.id); // ["steady-latency-time", "steady-rate-time"]
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

/** The percentile spectrum of steady runs: response and service time, df handling, lag. */
export function steadySpectrum(runs: ReportRun[]): ChartSpec {
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

/** The percentile spectrum of cold-connection runs: connect + first RPC, and each of them. */
export function coldSpectrum(runs: ReportRun[]): ChartSpec {
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
export const MAX_BARS = 600;

/**
 * Stacked bars of where each attempt's time went, phase by phase; undefined without attempts.
 * Beyond {@link MAX_BARS} attempts, each bar is the mean of consecutive ones.
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
