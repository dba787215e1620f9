/**
 * `summarize FILE... [--json] [--slo CLAUSES] [--merge]`: a summary of each run in the results
 * files given (shards of one run are merged exactly; other files stay separate runs, unless
 * `--merge` says every file is a shard of one run), each run's own verdict,
 * the notes a reader must see, and SLO verdicts per run.
 * Returns its text; printing is `tools/main.ts`'s job.
 *
 * @module
 */
import { ConfigError, formatOptions, resolveOptions } from "../smft/shared/config.ts";
import { PERCENTILE_DEFINITION } from "../smft/histogram.ts";
import {
  durationOf,
  formatFileVerdict,
  interrupted,
  notesOf,
  type ResultsFile,
  verdictOf,
} from "./results.ts";
import { readRuns, type ResultsSet, sloGateCode } from "./runs.ts";
import {
  allPass,
  clauseLabel,
  formatVerdict,
  judgeSlo,
  parseSlo,
  type SloClause,
} from "../smft/slo.ts";
import { formatSummary, ms, type Summary, warmupLine } from "../smft/summary.ts";
import { invalidCause } from "../smft/verdict.ts";
import type { TestName } from "../smft/results_format.ts";
import { type CommandResult, errorLine, wrap } from "./command.ts";
import { formatLadder, type Ladder, laddersOf } from "./report/ladder.ts";
import { textTable } from "../smft/shared/text_table.ts";

/** One file of a summary. */
export interface FileReport {
  path: string;
  /** `seed`: the bare format (no `#META`, no `#END`); `new`: smft's. */
  format: "seed" | "new";
  /** Result lines read. */
  lines: number;
  truncated: boolean;
  interrupted: boolean;
  malformed: { count: number; first: { line: number; text: string }[] };
  meta?: Record<string, unknown>;
  summary: Summary;
  /** What a reader must know besides the figures (truncation, malformed lines, …). */
  notes: string[];
  /** The run's own verdict, from its `#END`. */
  verdict: RunVerdictReport;
}

/** A run's own verdict (smft's, from `#END`), as data and as words. */
export interface RunVerdictReport {
  /** `true` VALID, `false` INVALID, `null` unknown (seed format, or no `#END`). */
  valid: boolean | null;
  /** Why INVALID, when the file says (`#END.verdict_reasons`). */
  reasons: string[];
  /** `VALID: …`, `INVALID: the generator fell behind (…)`, `unknown: …`. */
  text: string;
}

/** A clause's verdict, flat for JSON. */
export interface VerdictReport {
  /** As shown: `p99 < 10ms`. */
  clause: string;
  /** `p99`, `connect.p99`, `success`, `errors`, `rate`. */
  metric: string;
  op: string;
  threshold: number;
  unit: "ms" | "%" | "count" | "/s";
  measured: number | null;
  pass: boolean;
  reason?: string;
  /** The verdict as text: `PASS  p99 < 10ms  (measured 8.23ms)`. */
  line: string;
}

/** Everything `summarize` says about one run, as data: the `--json` output for one run. */
export interface SummaryReport {
  test: TestName;
  /** All files of the run (its shards) merged; for one file, that file's summary. */
  summary: Summary;
  files: FileReport[];
  slo?: { pass: boolean; verdicts: VerdictReport[] };
  /** The run's own verdict: INVALID when any of its shards is. */
  verdict: RunVerdictReport;
  /** Which run this is (`run_id …`, `2 of 2 shards of …`, `merged as asked (--merge): …`). */
  run: string;
  /** Present (true) when the files were merged because `--merge` said they are one run. */
  mergeAsked?: true;
}

/** What `summarize` says about several runs: the `--json` output when there is more than one. */
export interface RunsReport {
  runs: SummaryReport[];
  /** Why files of one test were not merged, one sentence each. */
  notMerged: string[];
  slo?: { pass: boolean };
  /**
   * Steady runs of one target at two or more rates, by offered rate, with the knee
   * (`tools/report/ladder.ts`); absent when there is none.
   */
  ladders?: Ladder[];
}

/** The ladders among runs (steady runs of one target at different rates). */
export function laddersOfReports(reports: SummaryReport[], withSlo: boolean): Ladder[] {
  return laddersOf(
    reports.map((r) => ({
      name: r.files.map((f) => f.path).join(" + "),
      files: r.files.map((f) => f.path),
      meta: r.files[0]?.meta,
      summary: r.summary,
      valid: r.verdict.valid,
      reasons: r.verdict.reasons,
      slo: r.slo && {
        pass: r.slo.pass,
        failed: r.slo.verdicts.filter((v) => !v.pass).map((v) =>
          v.line.replace(/^FAIL\s+/, "").replace(/\s{2,}/g, " ")
        ),
      },
    })),
    withSlo,
  );
}

function fileVerdict(f: ResultsFile): RunVerdictReport {
  const v = verdictOf(f);
  return { valid: v.valid, reasons: v.reasons, text: formatFileVerdict(f) };
}

/** The verdict of a run of one or several shards: INVALID if any shard is, VALID if all are. */
function runVerdict(set: ResultsSet): RunVerdictReport {
  if (set.files.length === 1) return fileVerdict(set.files[0]);
  const each = set.files.map(fileVerdict);
  const invalid = set.files.filter((_, i) => each[i].valid === false);
  if (invalid.length > 0) {
    return {
      valid: false,
      reasons: set.files.flatMap((f, i) => each[i].reasons.map((r) => `${f.path}: ${r}`)),
      text: `INVALID: ${invalid.length} of ${set.files.length} shards are INVALID (${
        invalid.map((f) => `${f.path}: ${invalidCause(verdictOf(f).reasons)}`).join("; ")
      }); these figures include the generator's own delay`,
    };
  }
  if (each.every((v) => v.valid === true)) {
    return {
      valid: true,
      reasons: [],
      text: "VALID: every shard kept its schedule, its own delay a small part of the figures",
    };
  }
  return { valid: null, reasons: [], text: "unknown: not every shard carries a verdict" };
}

/** Builds the report of one run; `clauses` adds SLO verdicts on its (merged) summary. */
export function summarizeSet(set: ResultsSet, clauses?: SloClause[]): SummaryReport {
  const summary = set.combined.summary(set.durationS);
  const files = set.files.map((f): FileReport => ({
    path: f.path,
    format: f.seedFormat ? "seed" : "new",
    lines: f.lines,
    truncated: f.truncated,
    interrupted: interrupted(f),
    malformed: f.malformed,
    ...(f.meta ? { meta: f.meta } : {}),
    summary: set.files.length === 1 ? summary : f.acc.summary(durationOf(f)),
    notes: notesOf(f),
    verdict: fileVerdict(f),
  }));
  const report: SummaryReport = {
    test: set.test,
    summary,
    files,
    verdict: runVerdict(set),
    run: set.identity,
    ...(set.mergeAsked ? { mergeAsked: true as const } : {}),
  };
  if (clauses) {
    const verdicts = judgeSlo(summary, clauses);
    report.slo = {
      pass: allPass(verdicts),
      verdicts: verdicts.map((v) => {
        const c = v.clause;
        const label = clauseLabel(c);
        return {
          clause: label,
          metric: label.split(" ")[0],
          op: c.op,
          threshold: c.threshold,
          unit: c.kind === "latency"
            ? "ms"
            : c.kind === "success"
            ? "%"
            : c.kind === "errors"
            ? "count"
            : "/s",
          measured: v.measured,
          pass: v.pass,
          ...(v.reason ? { reason: v.reason } : {}),
          line: formatVerdict(v),
        };
      }),
    };
  }
  return report;
}

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

const DEFS = {
  json: { flag: "json", boolean: true, default: false, help: "print one JSON object" },
  slo: {
    flag: "slo",
    meta: "<clauses>",
    parse: parseSlo,
    help: 'judge each run, e.g. "p99<10ms,p50<7ms,success>=99.9%"; exit 2 if a clause fails in ' +
      "any run, 3 if a run is INVALID, 5 both",
  },
  merge: {
    flag: "merge",
    boolean: true,
    default: false,
    help: "the files are one run (e.g. seed-format files of two load hosts): merge them all",
  },
};

/** `summarize --help`. */
export function summarizeHelp(): string {
  return `Usage: summarize FILE... [--json] [--slo CLAUSES] [--merge]

Summarises results files written by smft (01_steady or 02_coldconn), or by the seed's tools,
with each run's own verdict (VALID or INVALID, from its #END). Files are merged exactly only when
they are shards of one run: the same run_id in #META, or (files without one) shards k/n of one n
with distinct k and the same start_epoch_ms, rate, duration_s, test and target; the merged run's
rate uses the longest of their durations. Any other files, of one test or several, are separate
runs: a table of them side by side, why they were not merged, then each run in full. With --json,
one run gives one object; several give {"runs": [...], "notMerged": [...]}.

--merge says the files are one run whatever their #META says (seed-format files, which carry
none, or files from before run_id): every file is read as a shard of that run and merged exactly,
the output says the merge was asked for ("mergeAsked": true in --json), and it is INVALID when any
file is. Files of different tests are refused.

Options:
${formatOptions(DEFS).split("\n").filter((l) => !l.includes("--env-file")).join("\n")}

${
    wrap(
      "Latency is response time: from when the request was due to be sent to when its status " +
        `arrived, of successful calls. Percentiles: ${PERCENTILE_DEFINITION}`,
    )
  }

SLO clauses, comma-separated, each METRIC OP VALUE[UNIT]:
  metrics   p50 p90 p95 p99 p99.9 max mean (ms, s or us): steady latency, coldconn total time;
            a series or phase may come first: service.p99, lag.p99, df.p50 (steady),
            connect.p99, tls.p50, first_rpc.p99, lag.p99 (coldconn)
            success (%), errors (a count), rate (achieved, /s)
  ops       <  <=  >  >=
A figure the results do not have fails its clause.

Exit status: 0 summarised (with --slo: every run VALID and every clause passed), 1 bad input or
options (one line on stderr); with --slo, as the run itself exits: 2 an SLO clause failed, 3 a
run is INVALID (its #END says so), 5 both.`;
}

/** `summarize FILE... [--json] [--slo CLAUSES] [--merge]`. */
export async function summarizeCommand(args: string[]): Promise<CommandResult> {
  let sets: ResultsSet[] = [];
  try {
    const cfg = resolveOptions(DEFS, { args, env: {}, positionals: true });
    if (cfg.help) return { code: 0, stdout: summarizeHelp(), stderr: "" };
    if (cfg.positionals.length === 0) {
      throw new ConfigError("no results file given; usage: summarize FILE... [--json] [--slo ...]");
    }
    const { json, slo, merge } = cfg.values;
    const read = await readRuns(cfg.positionals, { keepSeries: false, merge });
    sets = read.runs;
    const reports = sets.map((set) => summarizeSet(set, slo));
    const failed = reports.some((r) => r.slo && !r.slo.pass);
    let stdout: string;
    if (reports.length === 1) {
      stdout = json ? JSON.stringify(reports[0], null, 2) : formatSummaryReport(reports[0]);
    } else {
      const many: RunsReport = {
        runs: reports,
        notMerged: read.notMerged,
        ...(slo ? { slo: { pass: !failed } } : {}),
      };
      const ladders = laddersOfReports(reports, slo !== undefined);
      if (ladders.length) many.ladders = ladders;
      stdout = json ? JSON.stringify(many, null, 2) : formatRunsReport(many);
    }
    return { code: sloGateCode(sets, { given: slo !== undefined, failed }), stdout, stderr: "" };
  } catch (e) {
    return { code: 1, stdout: "", stderr: `summarize: ${errorLine(e)}` };
  } finally {
    for (const set of sets) {
      set.combined.destroy();
      for (const f of set.files) f.acc.destroy();
    }
  }
}
