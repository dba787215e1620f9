/**
 * `summarize`'s text: one run (summary, verdict, shards, notes, SLO), or several side by side
 * with why they were not merged, their ladders, then each in full.
 *
 * @module
 */
import { formatSummary, ms, warmupLine } from "../smft/summary_text.ts";
import { textTable } from "../smft/shared/text_table.ts";
import { formatLadder, type Ladder } from "./report/ladder.ts";
import type { FileReport, RunsReport, SummaryReport } from "./summarize_model.ts";

/**
 * One run as text: the summary, its verdict, one line per shard when there are several, notes,
 * SLO. A seed-format file gets the seed's lines only (and notes, SLO): it has no verdict to give.
 */
export function formatSummaryReport(r: SummaryReport): string {
  const out: string[] = [];
  const several = r.files.length > 1;
  if (several && r.mergeAsked) {
    out.push(
      `${r.files.length} files of ${r.test}, merged as asked (--merge), read as shards of one run:`,
    );
  } else if (several) out.push(`${r.files.length} files of ${r.test}, merged (${r.run}):`);
  const warmup = r.files[0]?.meta?.warmup_attempts;
  if (r.test === "02_coldconn" && typeof warmup === "number") out.push(warmupLine(warmup));
  out.push(formatSummary(r.summary));
  if (r.files.some((f) => f.format === "new")) out.push(`Run verdict: ${r.verdict.text}`);
  if (several) {
    out.push("", "Per file:");
    for (const f of r.files) out.push(`  ${fileLine(f)}`);
  }
  const notes = r.files.flatMap((f) => f.notes.map((n) => `note: ${f.path}: ${n}`));
  if (notes.length) out.push("", ...notes);
  if (r.slo) {
    const failed = r.slo.verdicts.filter((v) => !v.pass).length;
    const n = r.slo.verdicts.length;
    out.push("", "SLO:");
    for (const v of r.slo.verdicts) out.push(v.line);
    out.push(
      `SLO ${r.slo.pass ? "passed" : "failed"} (${r.slo.pass ? n : failed} of ${n} clause${
        n === 1 ? "" : "s"
      })`,
    );
    if (r.verdict.valid === false) {
      out.push(
        "note: the SLO was judged on an INVALID run: its latencies include the generator's own delay",
      );
    }
  }
  return out.join("\n");
}

/** Several runs as text: per test with several runs, a table of them side by side and why they
 * were not merged; then each run in full, under a heading. */
export function formatRunsReport(r: RunsReport): string {
  const out: string[] = [];
  const tests = [...new Set(r.runs.map((x) => x.test))];
  for (const test of tests) {
    const runs = r.runs.filter((x) => x.test === test);
    if (runs.length < 2) continue;
    if (out.length) out.push("");
    // A ladder's step is apart by its rate: its run id says nothing more.
    const stepOfLadder = ladderSteps(r.ladders ?? []);
    const unexplained = runs.filter((x) => !x.files.every((f) => stepOfLadder.has(f.path)));
    const laddered = runs.length - unexplained.length;
    out.push(
      `${runs.length} runs of ${test}, not merged: files merge only as shards of one run (the same run_id in #META; without one, shards k/n of one n with the same start, rate, duration and target)`,
      runsTable(runs),
      "Why apart:",
      ...(laddered > 0
        ? [`  ${laddered} are steps of a ladder, one run per rate (below): apart by their rates`]
        : []),
      ...r.notMerged.filter((n) => unexplained.some((x) => x.files.some((f) => n.includes(f.path))))
        .map((n) => `  ${n}`),
    );
  }
  for (const l of r.ladders ?? []) out.push("", formatLadder(l));
  for (const run of r.runs) {
    if (out.length) out.push("");
    out.push(`== ${run.test}: ${run.files.map((f) => f.path).join(" + ")}`);
    out.push(formatSummaryReport(run));
  }
  return out.join("\n");
}

/**
 * The files of ladder steps whose rate no other step of their ladder has: such a file is apart
 * from the others by its rate alone.
 */
function ladderSteps(ladders: Ladder[]): Set<string> {
  const out = new Set<string>();
  for (const l of ladders) {
    for (const p of l.points) {
      if (l.points.filter((q) => q.rate === p.rate).length === 1) {
        p.files.forEach((f) => out.add(f));
      }
    }
  }
  return out;
}

/** Runs side by side, one row each. */
function runsTable(runs: SummaryReport[]): string {
  const steady = runs[0].test === "01_steady";
  const head = ["run", steady ? "requests" : "attempts", "ok %", "p50 ms", "p90 ms", "p99 ms"]
    .concat(["max ms", "rate/s", "verdict", "files"]);
  const rows = runs.map((r, i) => {
    const s = r.summary;
    const st = steady ? s.latency : s.phases?.total;
    const f = (v: number | undefined) => v === undefined ? "-" : v.toFixed(2);
    const verdict = r.verdict.valid === null ? "unknown" : r.verdict.valid ? "VALID" : "INVALID";
    return [
      String(i + 1),
      String(s.total),
      s.successPct.toFixed(1),
      f(st?.p50),
      f(st?.p90),
      f(st?.p99),
      f(st?.max),
      s.achievedRate === undefined ? "-" : s.achievedRate.toFixed(1),
      verdict,
      r.files.map((x) => x.path).join(" + "),
    ];
  });
  return textTable([head, ...rows], { left: [-1], indent: "  " });
}

/** `a.txt: 500 requests, 100.0% ok, p50 5.83ms, p99 8.23ms, rate 500.0/s`. */
function fileLine(f: FileReport): string {
  const s = f.summary;
  const steady = s.test === "01_steady";
  const st = steady ? s.latency : s.phases?.total;
  const lat = st ? `p50 ${ms(st.p50)}, p99 ${ms(st.p99)}` : "no successful results";
  const rate = s.achievedRate !== undefined ? `, rate ${s.achievedRate.toFixed(1)}/s` : "";
  const verdict = f.verdict.valid === false ? ", INVALID" : "";
  return `${f.path}: ${s.total} ${steady ? "requests" : "attempts"}, ${
    s.successPct.toFixed(1)
  }% ok, ${steady ? "" : "total "}${lat}${rate}${verdict}`;
}
