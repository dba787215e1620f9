/**
 * `summarize FILE... [--json] [--slo CLAUSES] [--merge]`: a summary of each run in the results
 * files given (shards of one run are merged exactly; other files stay separate runs, unless
 * `--merge` says every file is a shard of one run), each run's own verdict,
 * the notes a reader must see, and SLO verdicts per run.
 * The command alone: options, help, exit codes. The report as data is `summarize_model.ts`, its
 * text `summarize_text.ts`; printing is `tools/main.ts`'s job.
 *
 * @module
 */
import { ConfigError, formatOptions, resolveOptions } from "../smft/shared/layered_config.ts";
import { PERCENTILE_DEFINITION } from "../smft/histogram.ts";
import { readRuns, type ResultsSet, sloGateCode } from "./runs.ts";
import { parseSlo } from "../smft/slo.ts";
import { type CommandResult, errorLine, wrap } from "./command_result.ts";
import { laddersOfReports, type RunsReport, summarizeSet } from "./summarize_model.ts";
import { formatRunsReport, formatSummaryReport } from "./summarize_text.ts";

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
function summarizeHelp(): string {
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
