/**
 * Service-level objectives: `"p99<10ms,p50<7ms,success>=99.9%"` parsed into clauses and judged
 * against a `Summary`. Pure, so that smft (at the end of a run) and the tools judge alike.
 *
 * @module
 */
import type { Summary } from "./summary.ts";
import { ms } from "./summary_text.ts";
import { PHASES } from "./results_format.ts";
import type { Stat } from "./histogram.ts";

/** Comparison operators a clause may use. */
export type SloOp = "<" | "<=" | ">" | ">=";

/** Latency statistics a clause may name (`p999` is p99.9). */
export type SloStat = "p50" | "p90" | "p95" | "p99" | "p999" | "max" | "mean";

/** One parsed clause. Thresholds are held in the metric's unit: ms, %, a count, or per second. */
export type SloClause =
  & { text: string; op: SloOp; threshold: number; shown: string }
  & (
    | {
      kind: "latency";
      /**
       * Which figure: `undefined` is the test's headline (steady: response time of successful
       * calls; coldconn: total time of an attempt), else a steady series (`latency`, `service`,
       * `lag`, `df`) or a coldconn phase (`connect`, `tls`, …, `lag`).
       */
      series?: string;
      stat: SloStat;
    }
    | { kind: "success" | "errors" | "rate" }
  );

/** A clause judged against a summary. `measured` is null when the summary has no such figure. */
export interface SloVerdict {
  clause: SloClause;
  measured: number | null;
  pass: boolean;
  /** Why there is no measurement. */
  reason?: string;
}

const STATS: Record<string, SloStat> = {
  p50: "p50",
  p90: "p90",
  p95: "p95",
  p99: "p99",
  "p99.9": "p999",
  p999: "p999",
  max: "max",
  mean: "mean",
};
const STEADY_SERIES = ["latency", "service", "lag", "df"] as const;
const COLD_SERIES = [...PHASES, "lag"] as const;
const SERIES = new Set<string>([...STEADY_SERIES, ...COLD_SERIES]);
const LATENCY_UNITS: Record<string, number> = { ms: 1, s: 1000, us: 0.001, "µs": 0.001 };

const FORM = "expected METRIC OP VALUE, e.g. p99<10ms, success>=99.9%, errors<=0, rate>=990/s";
const METRICS = "metrics: p50 p90 p95 p99 p99.9 max mean (a series or phase may come first: " +
  "service.p99, lag.p99, connect.p99, tls.p50), success, errors, rate";

/**
 * Parses a comma-separated list of clauses, each `METRIC OP VALUE[UNIT]`. Throws an `Error` that
 * names the bad clause and the expected form.
 */
export function parseSlo(text: string): SloClause[] {
  if (text.trim() === "") throw new Error(`empty SLO: ${FORM}`);
  return text.split(",").map((part) => {
    if (part.trim() === "") {
      throw new Error(`SLO ${JSON.stringify(text)}: empty clause (a doubled or trailing comma)`);
    }
    return parseClause(part.trim());
  });
}

function parseClause(text: string): SloClause {
  const fail = (why: string): never => {
    throw new Error(`SLO clause ${JSON.stringify(text)}: ${why}`);
  };
  const m = /^([a-z_][a-z0-9_.]*?)\s*(<=|>=|<|>)\s*(\d+(?:\.\d*)?|\.\d+)\s*(\S*)$/i.exec(text);
  if (!m) fail(FORM);
  const [, name, op, num, unitRaw] = m!;
  const value = Number(num);
  const unit = unitRaw.toLowerCase();
  const base = { text, op: op as SloOp };
  const lower = name.toLowerCase();

  if (lower === "success") {
    if (unit !== "" && unit !== "%") fail(`success is a percentage: write e.g. success>=99.9%`);
    if (value > 100) fail("success is a percentage from 0 to 100");
    return { ...base, kind: "success", threshold: value, shown: `${num}%` };
  }
  if (lower === "errors") {
    if (unit !== "") fail("errors is a count, without a unit: write e.g. errors<=10");
    return { ...base, kind: "errors", threshold: value, shown: num };
  }
  if (lower === "rate") {
    if (unit !== "" && unit !== "/s") fail("rate is per second: write e.g. rate>=990/s");
    return { ...base, kind: "rate", threshold: value, shown: `${num}/s` };
  }

  const dot = lower.lastIndexOf(".");
  // `p99.9` has a dot of its own: a series prefix is only what precedes a known statistic.
  let series: string | undefined;
  let statName = lower;
  if (!(lower in STATS) && dot > 0) {
    series = lower.slice(0, dot);
    statName = lower.slice(dot + 1);
    if (statName === "9" && series.endsWith("p99")) {
      // `connect.p99.9`
      statName = "p99.9";
      series = series.slice(0, -4);
    }
  }
  const stat = STATS[statName];
  if (stat === undefined) fail(`unknown metric ${JSON.stringify(name)}; ${METRICS}`);
  if (series !== undefined && !SERIES.has(series)) {
    fail(
      `unknown series ${JSON.stringify(series)}; steady has ${STEADY_SERIES.join(", ")}, ` +
        `coldconn has ${COLD_SERIES.join(", ")}`,
    );
  }
  if (unit === "") fail(`a latency needs a unit: ${num}ms, ${num}s or ${num}us`);
  const factor = LATENCY_UNITS[unit];
  if (factor === undefined) fail(`unknown unit ${JSON.stringify(unitRaw)}; expected ms, s or us`);
  // Dividing by 1000 (not multiplying by 0.001) keeps e.g. 10000us exactly 10 ms.
  const threshold = factor < 1 ? value / 1000 : value * factor;
  return {
    ...base,
    kind: "latency",
    series,
    stat: stat!,
    threshold,
    shown: `${num}${unitRaw === "µs" ? "us" : unit}`,
  };
}

/** The clause as shown in verdicts: `p99 < 10ms`, `connect.p99 < 30ms`. */
export function clauseLabel(c: SloClause): string {
  const metric = c.kind === "latency"
    ? `${c.series ? `${c.series}.` : ""}${c.stat === "p999" ? "p99.9" : c.stat}`
    : c.kind;
  return `${metric} ${c.op} ${c.shown}`;
}

/** Judges every clause against `s`. A figure the summary lacks fails its clause. */
export function judgeSlo(s: Summary, clauses: SloClause[]): SloVerdict[] {
  return clauses.map((clause) => {
    const { value, reason } = measure(s, clause);
    if (value === undefined) return { clause, measured: null, pass: false, reason };
    return { clause, measured: value, pass: holds(value, clause.op, clause.threshold) };
  });
}

/** Whether every verdict passed (true for none). */
export function allPass(verdicts: SloVerdict[]): boolean {
  return verdicts.every((v) => v.pass);
}

function holds(v: number, op: SloOp, t: number): boolean {
  switch (op) {
    case "<":
      return v < t;
    case "<=":
      return v <= t;
    case ">":
      return v > t;
    case ">=":
      return v >= t;
  }
}

function measure(s: Summary, c: SloClause): { value?: number; reason?: string } {
  if (c.kind !== "latency") {
    if (c.kind === "errors") return { value: s.failed };
    if (c.kind === "success") return s.total ? { value: s.successPct } : { reason: "no results" };
    return s.achievedRate !== undefined
      ? { value: s.achievedRate }
      : { reason: "no duration known (no send times and no #META duration)" };
  }
  const steady = s.test === "01_steady";
  let stat: Stat | undefined;
  const series = c.series;
  if (steady) {
    if (series !== undefined && !(STEADY_SERIES as readonly string[]).includes(series)) {
      return { reason: `${series} is not measured by ${s.test}` };
    }
    const pick = series === undefined || series === "latency" ? "latency" : series;
    stat = s[pick as "latency" | "service" | "lag" | "df"];
  } else {
    if (series !== undefined && !(COLD_SERIES as readonly string[]).includes(series)) {
      return { reason: `${series} is not measured by ${s.test}` };
    }
    stat = series === "lag" ? s.lag : s.phases?.[(series ?? "total") as (typeof PHASES)[number]];
  }
  if (stat === undefined || stat.count === 0) {
    return { reason: steady ? "no successful calls with this figure" : "no successful attempt" };
  }
  return { value: stat[c.stat] };
}

/** One line per verdict: `PASS  p99 < 10ms  (measured 8.23ms)`. */
export function formatSloVerdicts(verdicts: SloVerdict[]): string {
  return verdicts.map(formatSloVerdict).join("\n");
}

/** `PASS  p99 < 10ms  (measured 8.23ms)`, or `FAIL  …  (not measured: why)`. */
export function formatSloVerdict(v: SloVerdict): string {
  const what = v.measured === null
    ? `not measured: ${v.reason}`
    : `measured ${shownMeasure(v.measured, v.clause)}`;
  return `${v.pass ? "PASS" : "FAIL"}  ${clauseLabel(v.clause)}  (${what})`;
}

/**
 * The measured value in the clause's terms, with enough decimals that rounding never puts it on
 * the other side of the threshold, or on it (8.234ms against < 8.23ms must not print as 8.23ms).
 */
function shownMeasure(v: number, c: SloClause): string {
  if (c.kind === "errors") return String(v);
  const suffix = c.kind === "latency" ? "ms" : c.kind === "success" ? "%" : "/s";
  const first = c.kind === "rate" ? 1 : 2;
  const outcome = holds(v, c.op, c.threshold);
  let d = first;
  for (; d < 6; d++) {
    const r = Number(v.toFixed(d));
    if (holds(r, c.op, c.threshold) === outcome && (r === c.threshold) === (v === c.threshold)) {
      break;
    }
  }
  if (c.kind === "latency" && d === first) return ms(v);
  return `${v.toFixed(d)}${suffix}`;
}
