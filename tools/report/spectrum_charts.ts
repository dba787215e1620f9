/**
 * The percentile spectrum charts as data (steady and cold-connection runs): each curve on an
 * x axis that gives each "nine" the same width. Pure: runs in, chart specifications out; the
 * rules of `charts.ts` hold here too.
 *
 * Private to `tools/report/`.
 *
 * @internal
 * @module
 */
import { r3 } from "../../smft/results_format.ts";
import { RUN_COLORS, runColor, runDash, runLabel } from "./_format.ts";
import type { ReportRun, Spectrum } from "./model.ts";
import { type ChartSeries, type ChartSpec, MEASURE, yScale } from "./charts.ts";

interface SpectrumLine {
  label: string;
  color: string;
  points: Spectrum;
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
  const allX = lines.flatMap((l) => l.points.map(([p]) => toX(p)));
  const xmax = allX.reduce((m, x) => Math.max(m, x), 10);
  // The axis ends at a whole "nine"; every curve's maximum runs flat to it.
  const top = 10 ** Math.max(1, Math.ceil(Math.log10(xmax) - 1e-9));
  const xs = [...new Set([...allX, top])].sort((a, b) => a - b);
  const series = lines.map((l): ChartSeries => {
    const m = new Map(l.points.map(([p, v]) => [toX(p), r3(v)]));
    const lastV = l.points.length ? r3(l.points[l.points.length - 1][1]) : null;
    if (lastV !== null && !m.has(top)) m.set(top, lastV);
    return {
      label: l.label,
      color: l.color,
      width: l.width ?? 2,
      dash: l.dash,
      stepped: l.points.steps === true,
      y: xs.map((x) => m.get(x) ?? null),
    };
  });
  // The scale follows the primary curves (response or total time): lag near zero is the
  // good case and may sit below the axis rather than stretch it down to 0.001 ms.
  const vals = lines.filter((l) => l.primary).flatMap((l) => l.points.map(([, v]) => v));
  return {
    id,
    kind: "spectrum",
    title,
    xLabel: "percentile",
    yLabel: "latency (ms)",
    unit: "ms",
    ...yScale(vals),
    height: 380,
    x: xs,
    series,
    caption,
  };
}

/**
 * The percentile spectrum of steady runs. One run: response and service time, df handling and
 * generator lag, each its own colour. Several: response time (solid) and service time (dashed)
 * per run, colour = run.
 */
export function steadySpectrum(runs: ReportRun[]): ChartSpec {
  const single = runs.length === 1;
  const lines: SpectrumLine[] = [];
  runs.forEach((r, i) => {
    const s = r.spectrum;
    if (single) {
      if (s.latency) {
        lines.push({
          label: "response time",
          color: MEASURE.response,
          points: s.latency,
          width: 2.5,
          primary: true,
        });
      }
      if (s.service) {
        lines.push({
          label: "service time",
          color: MEASURE.service,
          points: s.service,
          dash: [7, 3],
        });
      }
      if (s.df) {
        lines.push({ label: "df handling", color: MEASURE.df, points: s.df, dash: [2, 2] });
      }
      if (s.lag) {
        lines.push({
          label: "generator lag",
          color: MEASURE.lag,
          points: s.lag,
          width: 1.5,
          dash: [1, 3],
        });
      }
      return;
    }
    const c = runColor(r, i);
    const n = runLabel(r);
    if (s.latency) {
      lines.push({
        label: `${n} response`,
        color: c,
        points: s.latency,
        width: 2.5,
        dash: runDash(i),
        primary: true,
      });
    }
    // The merged run shows only its response time; its shards show the rest. Beyond one colour
    // per run, response time alone (a dash per round of colours tells the runs apart).
    if (s.service && !r.merged && runs.length <= RUN_COLORS.length) {
      lines.push({ label: `${n} service`, color: c, points: s.service, width: 1.5, dash: [7, 3] });
    }
  });
  return spectrumChart(
    "steady-spectrum",
    "Latency by percentile (successful calls)",
    lines,
    "Read a curve at a percentile to get the latency that share of calls stayed under. " +
      "Response time = done − intended; service time = done − issued" +
      (single
        ? "; generator lag = issued − intended (below the axis when it is tiny, which is good); " +
          "df handling = df's own time from its trailing metadata."
        : " (dashed). Colour = run; generator lag and df handling are in the table below.") +
      " Each curve ends at its maximum, drawn flat to the right edge; with few calls the curve is " +
      "the exact steps of the values.",
  );
}

/** The percentile spectrum of cold-connection runs: connect + first RPC, and each of them. */
export function coldSpectrum(runs: ReportRun[]): ChartSpec {
  const single = runs.length === 1;
  const lines: SpectrumLine[] = [];
  runs.forEach((r, i) => {
    const c = runColor(r, i);
    const n = single ? "" : `${runLabel(r)} `;
    const s = r.spectrum;
    if (s.total) {
      lines.push({
        label: `${n}connect + first RPC`,
        color: single ? MEASURE.response : c,
        points: s.total,
        width: 2.5,
        dash: single ? undefined : runDash(i),
        primary: true,
      });
    }
    const few = runs.length <= RUN_COLORS.length;
    if (s.connect && !r.merged && few) {
      lines.push({
        label: `${n}connect`,
        color: single ? "#e66100" : c,
        points: s.connect,
        width: 1.5,
        dash: [7, 3],
      });
    }
    if (s.first_rpc && !r.merged && few) {
      lines.push({
        label: `${n}first RPC`,
        color: single ? "#5e3c99" : c,
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
      "the first call on it. With few attempts each curve is the exact steps of the values; " +
      "it ends at the maximum, drawn flat to the right edge." +
      (single ? "" : " Colour = run; solid, dashed and dotted = total, connect, first RPC."),
  );
}
