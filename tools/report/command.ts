/**
 * `report FILE...`: reads results files, judges the SLO if asked, and writes the report page
 * (`page.ts`). The one part of `tools/report/` that touches the file system.
 *
 * @module
 */
import { basename } from "node:path";
import { ConfigError, formatOptions, resolveOptions } from "../../smft/shared/layered_config.ts";
import { formatSloVerdict, judgeSlo, parseSlo, type SloClause } from "../../smft/slo.ts";
import type { Summary } from "../../smft/summary.ts";
import { durationOf, type ResultsFile } from "../results.ts";
import { notesOf } from "../results_notes.ts";
import { readRuns, type ResultsSet, shardOf, sloGateCode } from "../runs.ts";
import { finite } from "../../smft/results_format.ts";
import { type CommandResult, errorLine } from "../command_result.ts";
import { shortNames } from "./_format.ts";
import { type ReportRun, reportRunFromAccumulator, type ReportVerdict } from "./model.ts";
import { renderReport, UPLOT_VERSION } from "./page.ts";
import { checkOutputPath, OutputPathError, writeFileWhole } from "../write_file.ts";
import { osReason } from "../../smft/record.ts";

const DEFS = {
  out: {
    flag: "out",
    meta: "<path>",
    default: "results/report.html",
    help: "where to write the page (folders are created)",
  },
  slo: {
    flag: "slo",
    meta: "<clauses>",
    parse: parseSlo,
    help: 'judge each run (shards of one run merged), e.g. "p99<10ms,success>=99.9%"',
  },
  title: {
    flag: "title",
    meta: "<text>",
    parse: (raw: string) => raw,
    help: "page title (default: gRPC latency report)",
  },
  merge: {
    flag: "merge",
    boolean: true,
    default: false,
    help: "the files are one run (e.g. seed-format files of two load hosts): merge them all",
  },
};

/** `report --help`: usage, what the page shows, options and exit codes. */
function reportHelp(): string {
  return `Usage: report FILE... [--out PATH] [--slo CLAUSES] [--title TEXT] [--merge]

Draws one HTML page from results files written by smft (01_steady, 02_coldconn, or the seed's
bare format): summary tables, SLO verdicts, latency over time, requests and errors per second,
latency by percentile (response time, service time, generator lag), cold-connection phases per
attempt, and each run's metadata. Several files are overlaid, one colour each; shards of one run
are also merged exactly, as summarize does (other files stay separate runs, each saying so), and
the SLO is judged per run. INVALID runs are listed under "Read with care". The page is self-contained (the charting library,
uPlot ${UPLOT_VERSION}, is inlined): it opens offline in any browser and makes no network requests.
With --merge, every file is a shard of one run, whatever its #META says (seed-format files of two
load hosts): they are merged exactly, the page says the merge was asked for, and files of
different tests are refused.

Options:
${formatOptions(DEFS).split("\n").filter((l) => !l.includes("--env-file")).join("\n")}

The page never takes the place of one of its inputs or of a results file (refused, exit 1), and
is written to a temporary file renamed into place, so a failure leaves an earlier page whole.

Prints the path written. Exit status: 0 written (with --slo: every run VALID and every clause
passed), 1 bad input or options (one line on stderr); written, with --slo, as the run itself
exits: 2 an SLO clause failed, 3 a run is INVALID (its #END says so), 5 both.`;
}

/**
 * `report FILE... [--out PATH] [--slo CLAUSES] [--title TEXT] [--merge]`: reads results files
 * (with `--merge`, as shards of one run), judges the SLO if given, writes the page (creating
 * folders) and returns its path as stdout. Exit code 0 written, 1 bad input or options; with
 * `--slo`, the run's own gate: 2 a clause failed, 3 a run INVALID, 5 both ({@link sloGateCode}).
 *
 * @example
 * ```ts
 * const r = await reportCommand(["results/01_steady_results.txt", "--out", "/tmp/r.html"]);
 * r.code; // 0, and r.stdout is "/tmp/r.html"
 * ```
 */
export async function reportCommand(args: string[]): Promise<CommandResult> {
  const sets: ResultsSet[] = [];
  try {
    const cfg = resolveOptions(DEFS, { args, env: {}, positionals: true });
    if (cfg.help) return { code: 0, stdout: reportHelp(), stderr: "" };
    if (cfg.positionals.length === 0) {
      throw new ConfigError(
        "no results file given; usage: report FILE... [--out PATH] [--slo ...]",
      );
    }
    const { out, slo, title, merge } = cfg.values;
    // Before anything is read: the page never takes the place of an input or of any results.
    checkOutputPath(out, cfg.positionals);
    const read = await readRuns(cfg.positionals, { keepSeries: true, merge });
    sets.push(...read.runs);
    const runs = runsOf(sets, slo);
    const html = renderReport(runs, { title, slo });
    try {
      // Checked again: a results file may have taken the name while the inputs were read.
      checkOutputPath(out, cfg.positionals);
      await writeFileWhole(out, html);
    } catch (e) {
      if (e instanceof OutputPathError) throw e;
      throw new ConfigError(
        `${out}: cannot write (${osReason(e)}); ${out} is left as it was`,
      );
    }
    const failed = runs.some((r) => r.verdicts?.some((v) => !v.pass));
    return {
      code: sloGateCode(sets, { given: slo !== undefined, failed }),
      stdout: out,
      stderr: "",
    };
  } catch (e) {
    return { code: 1, stdout: "", stderr: `report: ${errorLine(e)}` };
  } finally {
    for (const set of sets) {
      set.combined.destroy();
      for (const f of set.files) f.acc.destroy();
    }
  }
}

/**
 * Report runs of read runs: one per file, then the merge of each run's shards when it has
 * several. The SLO is judged per run: on a single file's figures, or on its shards' merge; files
 * that are not shards of one run are never merged, and each says which run it is, unless
 * `--merge` made them one (the merge then says it was asked for).
 */
function runsOf(sets: ResultsSet[], clauses?: SloClause[]): ReportRun[] {
  const all = sets.flatMap((s) => s.files);
  // Tables need names; the full path only where two files share a name.
  const names = all.map((f) => basename(f.path));
  const nameOf = (f: ResultsFile) => {
    const b = basename(f.path);
    return names.filter((n) => n === b).length > 1 ? f.path : b;
  };
  // Legends need what tells the files apart, and no more.
  const short = shortNames(all.map((f) => f.path));
  const labelOf = (f: ResultsFile) => short[all.indexOf(f)];
  const verdicts = (s: Summary): ReportVerdict[] | undefined =>
    clauses && judgeSlo(s, clauses).map((v) => ({
      // The badge says PASS or FAIL; the text keeps summarize's wording after it.
      text: formatSloVerdict(v).replace(/^(PASS|FAIL)\s+/, ""),
      pass: v.pass,
    }));
  const runs: ReportRun[] = [];
  for (const set of sets) {
    const several = set.files.length > 1;
    const apart = sets.filter((x) => x.test === set.test).length > 1;
    for (const f of set.files) {
      const notes = notesOf(f);
      if (f.seedFormat) {
        notes.push("seed (bare) format: no run metadata, and only what its lines hold");
      }
      // A file at a rate no other file has (a ladder's step) cannot be taken for a shard: no note.
      const sameRate = sets.some((x) =>
        x !== set && x.test === set.test && x.files.some((g) => g.meta?.rate === f.meta?.rate)
      );
      if (apart && !several && sameRate) {
        notes.push(`not merged with the other ${set.test} files, a separate run: ${set.identity}`);
      }
      const run = reportRunFromAccumulator(nameOf(f), f.test, f.acc, f.meta, undefined, {
        end: f.end,
        notes,
        durationS: durationOf(f),
      });
      run.label = labelOf(f);
      run.path = f.path;
      if (several) run.inMerge = true;
      if (!several) run.verdicts = verdicts(run.summary);
      runs.push(run);
    }
    if (several) {
      const asked = set.mergeAsked === true;
      const merged = reportRunFromAccumulator(
        asked ? `${set.files.length} files merged (--merge)` : `${set.files.length} shards merged`,
        set.test,
        set.combined,
        // Shards of one run share its target and total rate; files merged as asked need not.
        asked ? askedMeta(set.files) : sharedMetaFields(set.files, ["target", "rate"]),
        undefined,
        {
          merged: true,
          durationS: set.durationS,
          notes: asked
            ? [
              `merged as asked (--merge): ${
                set.files.map(nameOf).join(", ")
              } read as shards of one run`,
            ]
            : apart
            ? [`shards of one run (${set.identity}); other files are other runs`]
            : [],
          // INVALID when any shard is, VALID when all are: the merge carries its verdict.
          end: set.files.some((f) => f.end?.valid === false)
            ? { valid: false }
            : set.files.every((f) => f.end?.valid === true)
            ? { valid: true }
            : undefined,
        },
      );
      merged.verdicts = verdicts(merged.summary);
      runs.push(merged);
    }
  }
  return runs;
}

/**
 * The target and rate of files merged by `--merge`: the rate is the sum of each file's own share
 * (`host_rate`, else `rate` over its shard count), and left out when a file does not say.
 */
function askedMeta(files: ResultsFile[]): Record<string, unknown> {
  const out = sharedMetaFields(files, ["target"]);
  let rate = 0;
  for (const f of files) {
    const share = finite(f.meta?.host_rate) ??
      ((finite(f.meta?.rate) ?? NaN) / (shardOf(f)?.n ?? 1));
    if (!Number.isFinite(share)) return out;
    rate += share;
  }
  return { ...out, rate };
}

/** The fields every file agrees on (the merged run's target and total rate). */
function sharedMetaFields(files: ResultsFile[], keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const values = new Set(files.map((f) => f.meta?.[k]));
    const [v] = values;
    if (values.size === 1 && v !== undefined) out[k] = v;
  }
  return out;
}
