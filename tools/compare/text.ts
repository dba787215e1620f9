/**
 * A comparison (`model.ts`) as text: the runs and their verdicts, a table per metric, how the
 * intervals were made and the notes. Pure.
 *
 * @module
 */
import { textTable } from "../../smft/shared/text_table.ts";
import type { Comparison, RunInfo } from "./model.ts";

const fix = (v: number | null, sign = false) =>
  v === null ? "-" : `${sign && v > 0 ? "+" : ""}${v.toFixed(3)}`;

/**
 * The comparison as a text table: per metric and percentile, A, B, B − A, %, the interval and
 * the verdict, then how the intervals were made and any notes.
 */
export function formatComparison(c: Comparison): string {
  const what = c.test === "01_steady" ? "requests" : "attempts";
  // Attempts are their own resampling unit; seconds (or blocks) are worth counting beside requests.
  const unit = c.bootstrap.unit;
  const blocks = (r: RunInfo) => unit === "attempt" ? "" : `, ${r.blocks} ${unit}s`;
  const verdict = (r: RunInfo) =>
    r.valid === false ? ", INVALID" : r.valid === true ? ", VALID" : "";
  const run = (name: string, r: RunInfo) =>
    `${name}: ${r.paths.join(", ")}  (${
      r.mergeAsked ? "merged as asked (--merge), " : ""
    }${r.total} ${what}, ${r.successPct.toFixed(1)}% ok${blocks(r)}${verdict(r)})`;
  const warnings = c.notes.filter((n) => n.startsWith("WARNING:"));
  const verdicts = (name: string, r: RunInfo) =>
    r.verdicts.map((v, i) =>
      `${name} verdict${r.verdicts.length > 1 ? ` (${r.paths[i]})` : ""}: ${v}`
    );
  const out = [
    `compare ${c.test}`,
    run("A", c.a),
    run("B", c.b),
    ...verdicts("A", c.a),
    ...verdicts("B", c.b),
    ...warnings,
    "",
  ];
  const titles: Record<string, string> = {
    latency: "latency of successful calls",
    total: "total time of successful attempts",
    connect: "connect time of successful attempts",
  };
  const table: string[][] = [];
  let metric = "";
  for (const r of c.rows) {
    if (r.metric !== metric) {
      if (metric !== "") table.push([]);
      metric = r.metric;
      const title = titles[r.metric] ?? r.metric;
      table.push([title, "A ms", "B ms", "B − A", "%", "95% CI of B − A", "verdict"]);
    }
    const pct = r.diffPct === null ? "-" : `${r.diffPct > 0 ? "+" : ""}${r.diffPct.toFixed(1)}%`;
    const ci = r.lo === null || r.hi === null ? "-" : `[${fix(r.lo, true)}, ${fix(r.hi, true)}]`;
    table.push([`  p${r.p}`, fix(r.a), fix(r.b), fix(r.diff, true), pct, ci, r.verdict]);
  }
  // Least widths keep the columns where they have always been: 10 characters a figure.
  out.push(textTable(table, { left: [0, 5, 6], minWidth: [39, 8, 8, 8, 8, 20] }));
  out.push("");
  out.push(
    `Intervals: percentile bootstrap, ${c.bootstrap.resamples} resamples of ${
      unit === "second" ? "whole seconds" : unit === "block" ? "blocks" : "the attempts"
    }, seed ${c.bootstrap.seed}.`,
  );
  for (const n of c.notes) if (!n.startsWith("WARNING:")) out.push(`note: ${n}`);
  return out.join("\n");
}
