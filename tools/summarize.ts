/**
 * `summarize FILE... [--json] [--slo CLAUSES]`: one summary of one or several results files (load
 * hosts that ran together are merged exactly), the notes a reader must see, and SLO verdicts.
 * Returns its text; printing is `tools/main.ts`'s job.
 *
 * @module
 */
import { ConfigError, formatOptions, resolveOptions } from "../smft/shared/config.ts";
import { PERCENTILE_DEFINITION } from "../smft/histogram.ts";
import { durationOf, interrupted, notesOf, readResultsMany, type ResultsSet } from "./results.ts";
import {
  allPass,
  clauseLabel,
  formatVerdict,
  judgeSlo,
  parseSlo,
  type SloClause,
} from "../smft/slo.ts";
import { formatSummary, ms, type Summary } from "../smft/summary.ts";
import type { TestName } from "../smft/results_format.ts";
import { type CommandResult, errorLine, wrap } from "./command.ts";

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

/** Everything `summarize` says, as data: the `--json` output. */
export interface SummaryReport {
  test: TestName;
  /** All files merged; for one file, that file's summary. */
  summary: Summary;
  files: FileReport[];
  slo?: { pass: boolean; verdicts: VerdictReport[] };
}

/** Builds the report of a set of files; `clauses` adds SLO verdicts on the merged summary. */
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
  }));
  const report: SummaryReport = { test: set.test, summary, files };
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

/** The report as text: the summary, one line per file when there are several, notes, SLO. */
export function formatSummaryReport(r: SummaryReport): string {
  const out: string[] = [];
  const several = r.files.length > 1;
  if (several) out.push(`${r.files.length} files of ${r.test}, merged:`);
  out.push(formatSummary(r.summary));
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
  }
  return out.join("\n");
}

/** `a.txt: 500 requests, 100.0% ok, p50 5.83ms, p99 8.23ms, rate 500.0/s`. */
function fileLine(f: FileReport): string {
  const s = f.summary;
  const steady = s.test === "01_steady";
  const st = steady ? s.latency : s.phases?.total;
  const lat = st ? `p50 ${ms(st.p50)}, p99 ${ms(st.p99)}` : "no successful results";
  const rate = s.achievedRate !== undefined ? `, rate ${s.achievedRate.toFixed(1)}/s` : "";
  return `${f.path}: ${s.total} ${steady ? "requests" : "attempts"}, ${
    s.successPct.toFixed(1)
  }% ok, ${steady ? "" : "total "}${lat}${rate}`;
}

const DEFS = {
  json: { flag: "json", boolean: true, default: false, help: "print one JSON object" },
  slo: {
    flag: "slo",
    meta: "<clauses>",
    parse: parseSlo,
    help: 'judge the merged summary, e.g. "p99<10ms,p50<7ms,success>=99.9%"; exit 2 if one fails',
  },
};

/** `summarize --help`. */
export function summarizeHelp(): string {
  return `Usage: summarize FILE... [--json] [--slo CLAUSES]

Summarises results files written by smft (01_steady or 02_coldconn), or by the seed's tools.
Several files of one test (load hosts that ran together) are merged exactly: one summary, then a
line per file. The achieved rate uses the longest of their durations.

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

Exit status: 0 summarised (and every SLO clause passed), 1 bad input or options (one line on
stderr), 2 an SLO clause failed.`;
}

/** `summarize FILE... [--json] [--slo CLAUSES]`. */
export async function summarizeCommand(args: string[]): Promise<CommandResult> {
  let set: ResultsSet | undefined;
  try {
    const cfg = resolveOptions(DEFS, { args, env: {}, positionals: true });
    if (cfg.help) return { code: 0, stdout: summarizeHelp(), stderr: "" };
    if (cfg.positionals.length === 0) {
      throw new ConfigError("no results file given; usage: summarize FILE... [--json] [--slo ...]");
    }
    const { json, slo } = cfg.values;
    set = await readResultsMany(cfg.positionals, { keepSeries: false });
    const report = summarizeSet(set, slo);
    const stdout = json ? JSON.stringify(report, null, 2) : formatSummaryReport(report);
    return { code: report.slo && !report.slo.pass ? 2 : 0, stdout, stderr: "" };
  } catch (e) {
    return { code: 1, stdout: "", stderr: `summarize: ${errorLine(e)}` };
  } finally {
    set?.combined.destroy();
    for (const f of set?.files ?? []) f.acc.destroy();
  }
}
