/**
 * Ladders: runs of one target at different rates, read as one picture (latency percentiles
 * against offered rate), with the knee pointed out. Pure: the same ladder and knee serve the
 * report's ladder charts and `summarize`'s ladder table.
 *
 * **The knee.** Runs are taken in order of offered rate (`#META.rate`, all shards together).
 * With an SLO, a run *holds* when every clause passed and the run is VALID (the generator kept its
 * schedule). Without one, the baseline is the lowest-rate VALID run with successful calls, and a
 * run holds when it is VALID, its p99 is at most `KNEE_P99_FACTOR` × the baseline's p99 and
 * at least `KNEE_P99_MIN_MS` ms over it does not count (so sub-millisecond jitter is not a
 * knee), and its error rate is at most `KNEE_ERROR_PP` percentage points above the
 * baseline's. The knee is the last run that holds before the first that does not (runs above that
 * one are not counted, even when they hold again: noted). A run whose verdict is unknown or
 * INVALID stops the walk: above the rate where the generator falls behind, nothing is known of the
 * server. When every run holds, the knee is above the ladder's top.
 *
 * @module
 */
import { invalidCause } from "../../smft/verdict.ts";
import type { Summary } from "../../smft/summary.ts";
import { finite } from "../../smft/results_format.ts";
import { textTable } from "../../smft/shared/text_table.ts";

/** Without an SLO, p99 "departs" above this many times the lowest rate's p99… */
const KNEE_P99_FACTOR = 1.5;
/** …and by more than this many milliseconds. */
const KNEE_P99_MIN_MS = 1;
/** …or when the error rate rises by more than this many percentage points. */
const KNEE_ERROR_PP = 1;

/** One run of a ladder, as the ladder needs it. */
export interface LadderInput {
  /** How the run is named in legends and tables. */
  name: string;
  /** Its files. */
  files: string[];
  meta?: Record<string, unknown>;
  summary: Summary;
  /** smft's verdict: true VALID, false INVALID, null unknown. */
  valid: boolean | null;
  /** Why INVALID. */
  reasons?: string[];
  /** With an SLO: whether every clause passed, and which failed (as shown, with the measure). */
  slo?: { pass: boolean; failed: string[] };
}

/** One point of a ladder. */
export interface LadderPoint {
  name: string;
  files: string[];
  /** Offered rate (`#META.rate`, every shard together), per second. */
  rate: number;
  achieved?: number;
  total: number;
  failed: number;
  /** Failed calls, % of all. */
  errorPct: number;
  p50?: number;
  p90?: number;
  p99?: number;
  p999?: number;
  valid: boolean | null;
  reasons: string[];
  slo?: { pass: boolean; failed: string[] };
  /** Whether this run holds by the knee rule (see the module's description). */
  holds: boolean;
}

/** A ladder: one target, runs in order of rate, and its knee. */
export interface Ladder {
  target: string;
  points: LadderPoint[];
  /** `slo` when an SLO was given, else `p99`. */
  rule: "slo" | "p99";
  /** Index in `points` of the knee; undefined when even the lowest rate did not hold. */
  knee?: number;
  /** Index of the run that stopped the walk; undefined when every run held. */
  stop?: number;
  /** Without an SLO: the p99 the baseline gives, and the limit it sets. */
  baseline?: { rate: number; p99: number; limit: number };
  /** The knee in words. */
  text: string;
}

const rateOf = (i: LadderInput) => finite(i.meta?.rate);

/**
 * The ladders among runs: steady runs of one target (`#META.target`) with at least two distinct
 * offered rates. Runs without a rate (seed format) are left out.
 */
export function laddersOf(inputs: LadderInput[], withSlo: boolean): Ladder[] {
  const byTarget = new Map<string, LadderInput[]>();
  for (const i of inputs) {
    if (i.summary.test !== "01_steady" || rateOf(i) === undefined) continue;
    const t = typeof i.meta?.target === "string" ? i.meta.target : "an unnamed target";
    byTarget.set(t, [...(byTarget.get(t) ?? []), i]);
  }
  const out: Ladder[] = [];
  for (const [target, runs] of byTarget) {
    if (new Set(runs.map(rateOf)).size < 2) continue;
    out.push(ladderOf(target, runs, withSlo));
  }
  return out;
}

/** One ladder and its knee. */
function ladderOf(target: string, runs: LadderInput[], withSlo: boolean): Ladder {
  const points: LadderPoint[] = runs.map((i) => {
    const s = i.summary;
    const l = s.latency;
    return {
      name: i.name,
      files: i.files,
      rate: rateOf(i)!,
      achieved: s.achievedRate,
      total: s.total,
      failed: s.failed,
      errorPct: s.total ? (100 * s.failed) / s.total : 0,
      p50: l?.p50,
      p90: l?.p90,
      p99: l?.p99,
      p999: l?.p999,
      valid: i.valid,
      reasons: i.reasons ?? [],
      slo: i.slo,
      holds: false,
    };
  }).sort((a, b) => a.rate - b.rate);

  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const verdictWhy = (p: LadderPoint) =>
    p.valid === false
      ? `smft's own verdict is INVALID: ${invalidCause(p.reasons)}${
        p.reasons.length ? ` (${p.reasons.join("; ")})` : ""
      }, so nothing is known of the server from there up`
      : "its verdict is unknown (no #END), so it cannot be counted";
  let baseline: Ladder["baseline"];
  let baseErr = 0;
  let holds: (p: LadderPoint) => boolean;
  let why: (p: LadderPoint) => string;
  if (withSlo) {
    holds = (p) => p.valid === true && p.slo?.pass === true;
    why = (p) =>
      p.valid !== true ? verdictWhy(p) : `the SLO failed (${p.slo?.failed.join("; ") ?? "?"})`;
  } else {
    const base = points.find((p) => p.valid === true && p.p99 !== undefined);
    if (base) {
      const limit = Math.max(base.p99! * KNEE_P99_FACTOR, base.p99! + KNEE_P99_MIN_MS);
      baseline = { rate: base.rate, p99: base.p99!, limit };
      baseErr = base.errorPct;
    }
    holds = (p) =>
      baseline !== undefined && p.valid === true && p.p99 !== undefined &&
      p.p99 <= baseline.limit && p.errorPct <= baseErr + KNEE_ERROR_PP;
    why = (p) =>
      p.valid !== true
        ? verdictWhy(p)
        : p.p99 === undefined
        ? "no call succeeded"
        : p.p99 > baseline!.limit
        ? `p99 rose to ${ms(p.p99)}, above ${ms(baseline!.limit)}`
        : `errors rose to ${p.errorPct.toFixed(2)} %`;
  }
  for (const p of points) p.holds = holds(p);
  const stop = points.findIndex((p) => !p.holds);
  const knee = stop === -1 ? points.length - 1 : stop > 0 ? stop - 1 : undefined;
  const ruleText = withSlo
    ? "the highest rate that met the SLO with a VALID run"
    : baseline
    ? `the highest rate whose p99 stayed within ${KNEE_P99_FACTOR}× (and ${KNEE_P99_MIN_MS} ms) ` +
      `of the lowest rate's (${ms(baseline.p99)} at ${baseline.rate}/s: limit ${
        ms(baseline.limit)
      }), with errors within ${KNEE_ERROR_PP} point of it, on a VALID run`
    : "";
  let text: string;
  if (!withSlo && !baseline) {
    text = "no knee: no run is VALID with successful calls, so there is no low-rate p99 to " +
      "measure from";
  } else if (knee === undefined) {
    const p = points[0];
    text = `no knee: the lowest rate, ${p.rate}/s, does not hold: ${why(p)}`;
  } else if (stop === -1) {
    text = `knee above ${points[knee].rate}/s: every rate held (${ruleText}), so the ladder ` +
      "did not reach it";
  } else {
    const s = points[stop];
    text = `knee at ${points[knee].rate}/s: ${ruleText}; at ${s.rate}/s ${why(s)}`;
  }
  const again = stop === -1 ? [] : points.slice(stop + 1).filter((p) => p.holds);
  if (again.length) {
    text += `. ${
      again.map((p) => `${p.rate}/s`).join(", ")
    } held again above it: the knee is taken below the first rate that did not hold`;
  }
  return {
    target,
    points,
    rule: withSlo ? "slo" : "p99",
    knee,
    stop: stop === -1 ? undefined : stop,
    baseline,
    text,
  };
}

/** A ladder as a text table, the knee's row marked, then the knee in words. */
export function formatLadder(l: Ladder): string {
  const slo = l.rule === "slo";
  const head = ["rate/s", "achieved/s", "errors %", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms"]
    .concat(["run", ...(slo ? ["SLO"] : []), "", "files"]);
  const f = (v: number | undefined) => v === undefined ? "-" : v.toFixed(2);
  const rows = l.points.map((p, i) => [
    String(p.rate),
    p.achieved === undefined ? "-" : p.achieved.toFixed(1),
    p.errorPct.toFixed(2),
    f(p.p50),
    f(p.p90),
    f(p.p99),
    f(p.p999),
    p.valid === null ? "unknown" : p.valid ? "VALID" : "INVALID",
    ...(slo ? [p.slo === undefined ? "-" : p.slo.pass ? "pass" : "FAIL"] : []),
    i === l.knee ? "<- knee" : i === l.stop ? "<- stop" : "",
    p.files.join(" + "),
  ]);
  return [
    `Ladder: ${l.points.length} runs of 01_steady against ${l.target}, by offered rate`,
    textTable([head, ...rows], { left: [-2, -1], indent: "  " }),
    `Knee: ${l.text}`,
  ].join("\n");
}
