/**
 * What `summarize` says about a run, as data: the summary of its (merged) shards, each file's
 * figures and notes, the run's own verdict, SLO verdicts, and the ladders among several runs.
 * Pure; the text is `summarize_text.ts`'s job, the command `summarize.ts`'s.
 *
 * @module
 */
import { durationOf, interrupted, type ResultsFile, verdictOf } from "./results.ts";
import { formatFileVerdict, notesOf } from "./results_notes.ts";
import type { ResultsSet } from "./runs.ts";
import { allPass, clauseLabel, formatSloVerdict, judgeSlo, type SloClause } from "../smft/slo.ts";
import type { Summary } from "../smft/summary.ts";
import { invalidCause } from "../smft/verdict.ts";
import type { TestName } from "../smft/results_format.ts";
import { type Ladder, laddersOf } from "./report/ladder.ts";

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
          line: formatSloVerdict(v),
        };
      }),
    };
  }
  return report;
}
