/**
 * The charts of a ladder (runs of one target at several rates): latency percentiles against
 * offered rate, achieved against offered rate, and the error rate. Pure: data in, specs out.
 *
 * @module
 */
import { r3 } from "../../smft/results_format.ts";
import type { SloClause } from "../../smft/slo.ts";
import { type ChartMark, type ChartSeries, type ChartSpec, MEASURE, yScale } from "./charts.ts";
import type { Ladder } from "./ladder.ts";

const PCT_KEYS = [
  { key: "p50", label: "p50", color: MEASURE.p50, width: 2, dash: undefined },
  { key: "p90", label: "p90", color: MEASURE.p90, width: 1.5, dash: [6, 3] },
  { key: "p99", label: "p99", color: MEASURE.p99, width: 2.5, dash: undefined },
  { key: "p999", label: "p99.9", color: MEASURE.p999, width: 1.5, dash: [2, 3] },
] as const;

/**
 * The charts of a ladder (ids `ladder-${k}-…`): latency percentiles against offered rate with
 * INVALID runs circled, the knee marked and latency SLO thresholds drawn; achieved against
 * offered rate; and the error rate.
 */
export function ladderCharts(l: Ladder, k: number, slo?: SloClause[]): ChartSpec[] {
  const x = l.points.map((p) => p.rate);
  const series: ChartSeries[] = PCT_KEYS.map((d) => ({
    label: d.label,
    color: d.color,
    width: d.width,
    dash: d.dash ? [...d.dash] : undefined,
    points: true,
    y: l.points.map((p) => p[d.key] === undefined ? null : r3(p[d.key]!)),
  }));
  // SLO thresholds on the headline latency: a thin line in its percentile's colour.
  for (const c of slo ?? []) {
    if (c.kind !== "latency" || (c.series !== undefined && c.series !== "latency")) continue;
    const d = PCT_KEYS.find((p) => p.key === c.stat);
    series.push({
      label: `SLO ${c.stat === "p999" ? "p99.9" : c.stat} ${c.op} ${c.shown}`,
      color: d?.color ?? MEASURE.max,
      width: 1,
      dash: [12, 3, 2, 3],
      y: x.map(() => r3(c.threshold)),
    });
  }
  if (l.points.some((p) => p.valid !== true)) {
    series.push({
      label: "INVALID run (smft's own verdict)",
      color: "#111111",
      pointsOnly: true,
      y: l.points.map((p) => p.valid === true ? null : r3(p.p99 ?? p.p50 ?? 0)),
    });
  }
  const marks: ChartMark[] = l.knee === undefined
    ? []
    : [{ x: l.points[l.knee].rate, label: `knee ${l.points[l.knee].rate}/s`, color: "#1b7837" }];
  const vals = l.points.flatMap((p) => [p.p50, p.p999 ?? p.p99]);
  const kneeWords = l.rule === "slo"
    ? "the highest rate that met the SLO with a VALID run"
    : "the highest rate whose p99 stayed near its low-rate value, on a VALID run";
  const base = {
    kind: "ladder" as const,
    xLabel: "offered rate (requests / s)",
    sync: `ladder-${k}`,
    x,
    marks,
  };
  return [
    {
      ...base,
      id: `ladder-${k}-latency`,
      title: `Latency against offered rate: ${l.target}`,
      yLabel: "response time (ms)",
      unit: "ms",
      ...yScale(vals),
      height: 360,
      series,
      caption: "One point per run, at the rate it was asked for: the p50, p90, p99 and p99.9 " +
        "response time of its successful calls. A black ring marks a run smft judged INVALID " +
        `(its figures include the generator's own delay). The green line is the knee: ${kneeWords}.`,
    },
    {
      ...base,
      id: `ladder-${k}-rate`,
      title: "Achieved against offered rate",
      yLabel: "requests / s",
      unit: "rate",
      height: 220,
      series: [
        {
          label: "achieved",
          color: MEASURE.p50,
          width: 2,
          points: true,
          y: l.points.map((p) => p.achieved === undefined ? null : r3(p.achieved)),
        },
        {
          label: "offered (achieved = offered)",
          color: MEASURE.target,
          width: 1,
          dash: [6, 4],
          y: x,
        },
      ],
      caption: "Where the achieved rate falls below the dashed line, the run did not send (or " +
        "did not complete) what was asked.",
    },
    {
      ...base,
      id: `ladder-${k}-errors`,
      title: "Error rate against offered rate",
      yLabel: "errors (% of calls)",
      unit: "%",
      height: 180,
      series: [{
        label: "errors",
        color: MEASURE.errors,
        width: 2,
        points: true,
        y: l.points.map((p) => r3(p.errorPct)),
      }],
      caption: "Calls that ended with a non-OK status, as a share of all calls of the run.",
    },
  ];
}
