/**
 * `report FILE...`: reads results files, judges the SLO if asked, and writes the report page
 * (`page.ts`). The one part of `tools/report/` that touches the file system.
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { ConfigError, formatOptions, resolveOptions } from "../../smft/shared/config.ts";
import { formatVerdict, judgeSlo, parseSlo, type SloClause } from "../../smft/slo.ts";
import type { Summary } from "../../smft/summary.ts";
import {
  durationOf,
  notesOf,
  readResultsMany,
  type ResultsFile,
  type ResultsSet,
} from "../results.ts";
import { type CommandResult, errorLine } from "../command.ts";
import { type ReportRun, reportRunFromAccumulator, type ReportVerdict } from "./model.ts";
import { renderReport, UPLOT_VERSION } from "./page.ts";

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
    help: 'judge each test\'s figures (merged when several files), e.g. "p99<10ms,success>=99.9%"',
  },
  title: {
    flag: "title",
    meta: "<text>",
    parse: (raw: string) => raw,
    help: "page title (default: gRPC latency report)",
  },
};

/** `report --help`: usage, what the page shows, options and exit codes. */
export function reportHelp(): string {
  return `Usage: report FILE... [--out PATH] [--slo CLAUSES] [--title TEXT]

Draws one HTML page from results files written by smft (01_steady, 02_coldconn, or the seed's
bare format): summary tables, SLO verdicts, latency over time, requests and errors per second,
latency by percentile (response time, service time, generator lag), cold-connection phases per
attempt, and each run's metadata. Several files are overlaid, one colour each; files of one test
are also merged exactly, as summarize does. The page is self-contained (the charting library,
uPlot ${UPLOT_VERSION}, is inlined): it opens offline in any browser and makes no network requests.

Options:
${formatOptions(DEFS).split("\n").filter((l) => !l.includes("--env-file")).join("\n")}

Prints the path written. Exit status: 0 written (and every SLO clause passed), 1 bad input or
options (one line on stderr), 2 written, but an SLO clause failed.`;
}

/**
 * `report FILE... [--out PATH] [--slo CLAUSES] [--title TEXT]`: reads results files, judges the
 * SLO if given, writes the page (creating folders) and returns its path as stdout. Exit code 0
 * written, 1 bad input or options, 2 written but an SLO clause failed.
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
    const { out, slo, title } = cfg.values;
    // readResultsMany takes one test at a time: group the files by their #TEST line first.
    for (const group of await groupByTest(cfg.positionals)) {
      sets.push(await readResultsMany(group, { keepSeries: true }));
    }
    const runs = runsOf(sets, slo);
    const html = renderReport(runs, { title });
    try {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, html);
    } catch (e) {
      throw new ConfigError(`${out}: cannot write (${(e as Error).message})`);
    }
    const failed = runs.some((r) => r.verdicts?.some((v) => !v.pass));
    return { code: failed ? 2 : 0, stdout: out, stderr: "" };
  } catch (e) {
    return { code: 1, stdout: "", stderr: `report: ${errorLine(e)}` };
  } finally {
    for (const set of sets) {
      set.combined.destroy();
      for (const f of set.files) f.acc.destroy();
    }
  }
}

/** Report runs of read files: one per file, then the merge of each test's files when several. */
function runsOf(sets: ResultsSet[], clauses?: SloClause[]): ReportRun[] {
  const all = sets.flatMap((s) => s.files);
  // Legends need short names; the full path only where two files share a name.
  const names = all.map((f) => basename(f.path));
  const nameOf = (f: ResultsFile) => {
    const b = basename(f.path);
    return names.filter((n) => n === b).length > 1 ? f.path : b;
  };
  const verdicts = (s: Summary): ReportVerdict[] | undefined =>
    clauses && judgeSlo(s, clauses).map((v) => ({
      // The badge says PASS or FAIL; the text keeps summarize's wording after it.
      text: formatVerdict(v).replace(/^(PASS|FAIL)\s+/, ""),
      pass: v.pass,
    }));
  const runs: ReportRun[] = [];
  for (const set of sets) {
    const several = set.files.length > 1;
    for (const f of set.files) {
      const notes = notesOf(f);
      if (f.seedFormat) {
        notes.push("seed (bare) format: no run metadata, and only what its lines hold");
      }
      const run = reportRunFromAccumulator(nameOf(f), f.test, f.acc, f.meta, undefined, {
        end: f.end,
        notes,
        durationS: durationOf(f),
      });
      if (!several) run.verdicts = verdicts(run.summary);
      runs.push(run);
    }
    if (several) {
      const merged = reportRunFromAccumulator(
        `${set.files.length} files merged`,
        set.test,
        set.combined,
        // The total rate applies to the merge only when the files are shards of one load.
        sharedMetaFields(
          set.files,
          set.files.every((f) => f.meta?.host_rate) ? ["target", "rate"] : ["target"],
        ),
        undefined,
        { merged: true, durationS: set.durationS },
      );
      // As summarize does: the SLO is judged on the merged figures of files that ran together.
      merged.verdicts = verdicts(merged.summary);
      runs.push(merged);
    }
  }
  return runs;
}

/** The fields every file agrees on (the merged run's target, and its total rate for shards). */
function sharedMetaFields(files: ResultsFile[], keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const values = new Set(files.map((f) => f.meta?.[k]));
    const [v] = values;
    if (values.size === 1 && v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Paths grouped by the test on their first line, in order of first appearance. A file that
 * cannot be read here gets a group of its own, where readResultsMany names the problem.
 */
async function groupByTest(paths: string[]): Promise<string[][]> {
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    const key = (await peekTest(p)) ?? `?${p}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()];
}

/** The test named on a file's first line, if it is a `#TEST=` line. */
async function peekTest(path: string): Promise<string | undefined> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path);
    const buf = new Uint8Array(4096);
    const n = await file.read(buf);
    const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    const first = text.split("\n").find((l) => l.trim() !== "")?.trim();
    return first?.startsWith("#TEST=") ? first.slice(6).trim() : undefined;
  } catch {
    return undefined;
  } finally {
    file?.close();
  }
}
