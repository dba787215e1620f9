/**
 * Runs from results files: which files are shards of one run (same `run_id`, or the same plan
 * with distinct shards k/n), merged exactly, and which stand alone, with the reason. A figure is
 * never made of files that did not run together, unless the user says they did (`--merge`).
 *
 * @module
 */
import { ConfigError } from "../smft/shared/layered_config.ts";
import { Accumulator } from "../smft/summary.ts";
import type { TestName } from "../smft/results_format.ts";
import {
  combinedDuration,
  type ReadOptions,
  readResults,
  type ResultsFile,
  verdictOf,
} from "./results.ts";
import { EXIT, exitCode } from "../smft/exit_codes.ts";
/** One run: a results file, or the shards of one run merged exactly. */
export interface ResultsSet {
  test: TestName;
  files: ResultsFile[];
  /** Every file merged (exact: same buckets, same sums). */
  combined: Accumulator;
  /** Seconds of measurement of the combined run (see `combinedDuration`). */
  durationS?: number;
  /** Which run this is, in words: `run_id 3f2a…`, `shards of 2 started …`, `seed format`. */
  identity: string;
  /** The files were merged because the user said they are one run (`--merge`), not by #META. */
  mergeAsked?: boolean;
}

/** Options of `readRuns`. */
export interface RunsOptions extends ReadOptions {
  /**
   * Every file is a shard of one run, as the user says (`--merge`): all are merged exactly,
   * whatever their `#META` says (seed-format files, files from before `run_id`). Files of
   * different tests are refused.
   * @default false
   */
  merge?: boolean;
}

/** Every run of several results files, by test, and why files were not merged. */
export interface ReadRuns {
  /** Runs in the order their first file was given; a test's runs are together. */
  runs: ResultsSet[];
  /** Why files of one test were not merged into one run, one sentence each. */
  notMerged: string[];
}

/**
 * Reads results files of any tests and groups them into runs: files merge only when they are
 * shards of one run (see `groupRuns`); every other file is a run of its own. With
 * `opts.merge`, every file is merged into one run (see {@link mergeAsked}). A file named twice is
 * refused rather than counted twice.
 */
export async function readRuns(paths: string[], opts: RunsOptions = {}): Promise<ReadRuns> {
  if (paths.length === 0) throw new ConfigError("no results file given");
  const seen = new Set<string>();
  for (const p of paths) {
    if (seen.has(p)) throw new ConfigError(`${p}: given twice`);
    seen.add(p);
  }
  const files: ResultsFile[] = [];
  try {
    for (const p of paths) files.push(await readResults(p, opts));
  } catch (e) {
    for (const f of files) f.acc.destroy();
    throw e;
  }
  if (opts.merge) return { runs: [mergeAsked(files, opts)], notMerged: [] };
  const runs: ResultsSet[] = [];
  const notMerged: string[] = [];
  const tests = [...new Set(files.map((f) => f.test))];
  for (const test of tests) {
    const g = groupRuns(files.filter((f) => f.test === test));
    notMerged.push(...g.notMerged);
    for (const group of g.groups) runs.push(combine(group, opts));
  }
  return { runs, notMerged };
}

/**
 * Reads the files of one run (shards of one run, or a single file) and merges them. Throws
 * `ConfigError` saying why when they are of different tests or not shards of one run.
 */
export async function readResultsMany(
  paths: string[],
  opts: RunsOptions = {},
): Promise<ResultsSet> {
  const r = await readRuns(paths, opts);
  if (r.runs.length === 1) return r.runs[0];
  const free = () => {
    for (const run of r.runs) {
      run.combined.destroy();
      for (const f of run.files) f.acc.destroy();
    }
  };
  const tests = [...new Set(r.runs.map((x) => x.test))];
  free();
  if (tests.length > 1) {
    const first = r.runs[0].files[0];
    const other = r.runs.find((x) => x.test !== first.test)!.files[0];
    throw new ConfigError(
      `${other.path}: ${other.test} results cannot be combined with ${first.test} results (${first.path})`,
    );
  }
  throw new ConfigError(
    `${paths.join(", ")}: not shards of one run, so not merged (${r.notMerged.join("; ")})`,
  );
}

/** Merges the files of one run. */
function combine(files: ResultsFile[], opts: ReadOptions): ResultsSet {
  const test = files[0].test;
  const combined = new Accumulator(test, { keepSeries: opts.keepSeries ?? true });
  for (const f of files) combined.merge(f.acc);
  return {
    test,
    files,
    combined,
    durationS: combinedDuration(files),
    identity: identityOf(files),
  };
}

/** How a run merged by `--merge` is named (`run` in `--json`). */
const MERGE_ASKED = "merged as asked (--merge): read as shards of one run";

/**
 * `--merge`: the files are shards of one run because the user says so; merged exactly, as shards
 * that `#META` names are ({@link combine}). One file stays itself. Throws `ConfigError` (and frees
 * every file) when the files are of different tests: those are never one run.
 */
function mergeAsked(files: ResultsFile[], opts: ReadOptions): ResultsSet {
  const first = files[0];
  const other = files.find((f) => f.test !== first.test);
  if (other !== undefined) {
    for (const f of files) f.acc.destroy();
    throw new ConfigError(
      `--merge: ${other.path} holds ${other.test} results and ${first.path} ${first.test} results: files of different tests are not one run, so not merged`,
    );
  }
  const set = combine(files, opts);
  if (files.length === 1) return set;
  return { ...set, identity: MERGE_ASKED, mergeAsked: true };
}

/** `k/n` of `#META.shard`, when it is one. */
export function shardOf(f: ResultsFile): { k: number; n: number } | undefined {
  const m = typeof f.meta?.shard === "string" ? /^(\d+)\/(\d+)$/.exec(f.meta.shard) : null;
  if (!m) return undefined;
  const k = Number(m[1]);
  const n = Number(m[2]);
  return k >= 1 && k <= n ? { k, n } : undefined;
}

/** The `#META` fields shards of one run without a `run_id` must share. */
const PLAN_FIELDS = ["test", "target", "start_epoch_ms", "rate", "duration_s"] as const;

function runIdOf(f: ResultsFile): string | undefined {
  const id = f.meta?.run_id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/** The key of the run a file may be a shard of; undefined when it can only stand alone. */
function shardKey(f: ResultsFile): string | undefined {
  if (f.seedFormat || f.meta === undefined) return undefined;
  const id = runIdOf(f);
  if (id !== undefined) return `run_id ${id}`;
  const s = shardOf(f);
  if (s === undefined || s.n < 2) return undefined;
  const plan = PLAN_FIELDS.map((k) => f.meta?.[k]);
  if (plan.some((v) => v === undefined || v === null)) return undefined;
  return JSON.stringify(["plan", s.n, ...plan]);
}

/**
 * Splits files of one test into runs. Files merge only when they are shards of one run: the same
 * `run_id` in `#META` with distinct shards `k/n` of one `n`; or, for files without a `run_id`,
 * shards `k/n` of the same `n` (> 1) with distinct `k` and the same `test`, `target`,
 * `start_epoch_ms`, `rate` and `duration_s`. Seed-format files (no `#META`) never merge here
 * (`--merge` merges them: {@link readRuns}). Any other file is a run of its own; `notMerged` says
 * why files stayed apart.
 */
function groupRuns(files: ResultsFile[]): { groups: ResultsFile[][]; notMerged: string[] } {
  const byKey = new Map<string, ResultsFile[]>();
  const order: (string | ResultsFile)[] = [];
  for (const f of files) {
    const key = shardKey(f);
    if (key === undefined) {
      order.push(f);
      continue;
    }
    const g = byKey.get(key);
    if (g) g.push(f);
    else {
      byKey.set(key, [f]);
      order.push(key);
    }
  }
  const groups: ResultsFile[][] = [];
  const notMerged: string[] = [];
  for (const item of order) {
    if (typeof item !== "string") {
      groups.push([item]);
      continue;
    }
    const g = byKey.get(item)!;
    const conflict = shardConflict(g);
    if (conflict === undefined) groups.push(g);
    else {
      notMerged.push(conflict);
      for (const f of g) groups.push([f]);
    }
  }
  if (groups.length > 1) {
    for (const g of groups) {
      notMerged.push(`${g.map((f) => f.path).join(" + ")}: ${identityOf(g)}`);
    }
  }
  return { groups, notMerged };
}

/** Why files with one key are still not shards of one run (a shard twice, counts that differ). */
function shardConflict(g: ResultsFile[]): string | undefined {
  if (g.length < 2) return undefined;
  const shards = g.map(shardOf);
  const paths = g.map((f) => f.path).join(", ");
  if (shards.some((s) => s === undefined)) {
    return `${paths}: the same run_id, but not every file names its shard k/n: not merged`;
  }
  const ns = new Set(shards.map((s) => s!.n));
  if (ns.size > 1) {
    return `${paths}: the same run, but shard counts differ (${
      shards.map((s) => `${s!.k}/${s!.n}`).join(", ")
    }): not merged`;
  }
  const ks = shards.map((s) => s!.k);
  const twice = ks.find((k, i) => ks.indexOf(k) !== i);
  if (twice !== undefined) {
    return `${paths}: shard ${twice}/${
      shards[0]!.n
    } appears twice (a copy, or two runs): not merged`;
  }
  return undefined;
}

/** Which run files are, in words. */
function identityOf(g: ResultsFile[]): string {
  const f = g[0];
  if (f.seedFormat) return "seed format (no #META): a run of its own, never merged";
  if (f.meta === undefined) return "no #META: a run of its own, never merged";
  const s = shardOf(f);
  const id = runIdOf(f);
  const start = typeof f.meta.start_epoch_ms === "number" &&
      Number.isFinite(f.meta.start_epoch_ms)
    ? new Date(f.meta.start_epoch_ms).toISOString()
    : "an unknown time";
  const plan = `started ${start}, ${f.meta.rate ?? "?"}/s for ${f.meta.duration_s ?? "?"} s`;
  if (g.length > 1) {
    const of = `${g.length} of ${s!.n} shards`;
    return id !== undefined ? `${of} of run_id ${id}` : `${of} of one plan, ${plan}`;
  }
  if (id !== undefined) {
    return `run_id ${id}${s ? `, shard ${s.k}/${s.n}` : ""}`;
  }
  if (s === undefined || s.n === 1) {
    return `a whole run (shard ${s ? "1/1" : "not named"}), ${plan}`;
  }
  return `shard ${s.k}/${s.n}, ${plan}${
    shardKey(f) === undefined ? " (its #META lacks part of the plan)" : ""
  }`;
}

/**
 * The exit code of an SLO gate on runs read from files, the same as the run's own (smft's
 * `exitCode`): with an SLO, an INVALID run (a file whose `#END` says so, not interrupted) is 3,
 * and 5 when a clause failed too; a failed clause in VALID runs is 2. Without an SLO, 0: a
 * summary is no gate.
 */
export function sloGateCode(sets: ResultsSet[], slo: { given: boolean; failed: boolean }): number {
  if (!slo.given) return EXIT.ok;
  const invalid = sets.some((s) =>
    s.files.some((f) => {
      const v = verdictOf(f);
      return v.valid === false && !v.interrupted;
    })
  );
  return exitCode({ interrupted: false, invalid, sloFailed: slo.failed });
}
