/**
 * `compare A B`: how run B's percentiles differ from run A's, with 95 % confidence intervals
 * from a block bootstrap (`bootstrap.ts`). This module reads the files, picks the blocks of each
 * test, and prints the comparison as a table or JSON.
 *
 * @module
 */
import {
  ConfigError,
  formatOptions,
  int,
  resolveOptions,
} from "../../smft/shared/layered_config.ts";
import { PERCENTILE_DEFINITION } from "../../smft/histogram.ts";
import { formatFileVerdict, notesOf, verdictOf } from "../results.ts";
import { readResultsMany, type ResultsSet } from "../runs.ts";
import type { TestName } from "../../smft/results_format.ts";
import { type CommandResult, errorLine, wrap } from "../command_result.ts";
import {
  type Block,
  blocksOfSeconds,
  blocksOfValues,
  bootstrapDiff,
  type PercentileDiff,
} from "./bootstrap.ts";

/** What was compared, figures in ms. */
export interface Comparison {
  test: TestName;
  a: RunInfo;
  b: RunInfo;
  /** `unit`: what is resampled: `second`, `attempt`, or `block` (seconds, and runs of lines of files without send times). */
  bootstrap: { resamples: number; seed: number; confidence: number; unit: string };
  rows: CompareRow[];
  notes: string[];
}

/** One side of a comparison. */
export interface RunInfo {
  paths: string[];
  total: number;
  ok: number;
  successPct: number;
  /** Resampling units (seconds, attempts, or blocks of results). */
  blocks: number;
  /** The run's own verdict (from `#END`): `false` INVALID in any shard, `null` unknown. */
  valid: boolean | null;
  /** Present (true) when the side's files were merged because `--merge` said they are one run. */
  mergeAsked?: true;
  /** Each file's own verdict in words (`VALID: ...`, `INVALID: ...`, or why it is unknown). */
  verdicts: string[];
}

/** One compared percentile. */
export interface CompareRow extends PercentileDiff {
  /** `latency`, or a cold-connection phase (`total`, `connect`). */
  metric: string;
  /** (B − A) / A × 100. */
  diffPct: number | null;
}

/** Percentiles compared. */
export const COMPARED = [50, 90, 99] as const;
/** Results without send times (the seed's format) are cut into about this many blocks. */
const UNTIMED_BLOCKS = 100;

const DEFS = {
  json: { flag: "json", boolean: true, default: false, help: "print one JSON object" },
  resamples: {
    flag: "resamples",
    meta: "<n>",
    default: 1000,
    parse: int(100, 100_000),
    help: "bootstrap resamples of each run",
  },
  seed: {
    flag: "seed",
    meta: "<n>",
    default: 1,
    parse: int(0, 2 ** 32 - 1),
    help: "seed of the resampling (same seed, same intervals)",
  },
  merge: {
    flag: "merge",
    boolean: true,
    default: false,
    help: "each side's comma-joined files are one run, whatever their #META says: merge them",
  },
};

/** `compare --help`. */
export function compareHelp(): string {
  return `Usage: compare A B [--json] [--resamples N] [--seed N] [--merge]

How run B differs from run A in p50, p90 and p99 (B − A, in ms and %), with a 95 % confidence
interval. A and B are results files of the same test; shards of one run are joined by commas
(a1.txt,a2.txt) and merged (refused, saying why, when they are not shards of one run: see
summarize --help). With --merge, each side's files are merged as one run whatever their #META
says (seed-format files of two load hosts, say); files of different tests are refused. A run
that smft judged INVALID is compared with a WARNING. Steady: the latency of successful calls,
resampling whole seconds of each run (requests within a second are not independent). Coldconn:
total and connect time of successful attempts, resampling attempts.

Options:
${formatHelpOptions()}

Verdict per percentile: "B slower" or "B faster" when the interval excludes 0, otherwise "no
significant difference"; "too little data" with fewer than two blocks or attempts a side.

${wrap(`Percentiles: ${PERCENTILE_DEFINITION}`)}

Exit status: 0 compared (whatever the verdicts), 1 bad input or options.`;
}

function formatHelpOptions(): string {
  // These commands read no environment, so the resolver's --env-file line does not apply.
  return formatOptions(DEFS).split("\n").filter((l) => !l.includes("--env-file")).join("\n");
}

/**
 * `compare A B [--json] [--resamples N] [--seed N] [--merge]`: the comparison as text or JSON.
 * Exit code 0, or 1 on bad input (one line on stderr).
 *
 * @example
 * ```ts
 * const r = await compareCommand(["before.txt", "after1.txt,after2.txt", "--json"]);
 * JSON.parse(r.stdout).rows[0].verdict; // e.g. "no significant difference"
 * ```
 */
export async function compareCommand(args: string[]): Promise<CommandResult> {
  const sets: ResultsSet[] = [];
  try {
    const cfg = resolveOptions(DEFS, { args, env: {}, positionals: true });
    if (cfg.help) return { code: 0, stdout: compareHelp(), stderr: "" };
    if (cfg.positionals.length !== 2) {
      throw new ConfigError(
        `expected two runs to compare, A and B (got ${cfg.positionals.length}); see --help`,
      );
    }
    const o = cfg.values;
    const untimed: Map<string, number[]>[] = [];
    const total: number[][] = [];
    const connect: number[][] = [];
    for (const arg of cfg.positionals) {
      const byFile = new Map<string, number[]>();
      const tot: number[] = [];
      const con: number[] = [];
      untimed.push(byFile);
      total.push(tot);
      connect.push(con);
      const paths = arg.split(",").filter((p) => p !== "");
      sets.push(
        await readResultsMany(paths, {
          merge: o.merge,
          onResult: (r, _line, path) => {
            if (r.ok !== true) return;
            if (typeof r.t_total_ms === "number") tot.push(r.t_total_ms);
            if (typeof r.t_connect_ms === "number") con.push(r.t_connect_ms);
            // Steady results without a send time fit no second: kept per file, in file order.
            if (typeof r.latency_ms === "number" && typeof r.t_ms !== "number") {
              let values = byFile.get(path);
              if (!values) byFile.set(path, values = []);
              values.push(r.latency_ms);
            }
          },
        }),
      );
    }
    const [a, b] = sets;
    if (a.test !== b.test) {
      throw new ConfigError(
        `A is ${a.test} results and B is ${b.test} results: compare needs two runs of one test`,
      );
    }
    const c = compareSets(a, b, { untimed, total, connect }, {
      resamples: o.resamples,
      seed: o.seed,
    });
    const stdout = o.json ? JSON.stringify(c, null, 2) : formatComparison(c);
    return { code: 0, stdout, stderr: "" };
  } catch (e) {
    return { code: 1, stdout: "", stderr: `compare: ${errorLine(e)}` };
  } finally {
    for (const s of sets) {
      s.combined.destroy();
      for (const f of s.files) f.acc.destroy();
    }
  }
}

interface Collected {
  untimed: Map<string, number[]>[];
  total: number[][];
  connect: number[][];
}

/** Compares two read runs of one test, blocks chosen by the test. */
function compareSets(
  a: ResultsSet,
  b: ResultsSet,
  data: Collected,
  opts: { resamples: number; seed: number },
): Comparison {
  const notes: string[] = [];
  const rows: CompareRow[] = [];
  let blocksA: number;
  let blocksB: number;
  let unit: string;
  const push = (metric: string, diffs: PercentileDiff[]) => {
    for (const d of diffs) {
      const diffPct = d.diff !== null && d.a ? (d.diff / d.a) * 100 : null;
      rows.push({ metric, ...d, diffPct });
    }
  };
  if (a.test === "01_steady") {
    const side = (set: ResultsSet, untimed: Map<string, number[]>, name: string): Block[] => {
      const blocks = blocksOfSeconds(set.combined);
      for (const [path, values] of untimed) {
        const size = Math.max(1, Math.ceil(values.length / UNTIMED_BLOCKS));
        blocks.push(...blocksOfValues(values, size));
        notes.push(
          `${name}: ${path} has no send times (seed format): its results are resampled in blocks of ${size} consecutive lines`,
        );
      }
      return blocks;
    };
    const ba = side(a, data.untimed[0], "A");
    const bb = side(b, data.untimed[1], "B");
    blocksA = ba.length;
    blocksB = bb.length;
    unit = data.untimed.some((m) => m.size > 0) ? "block" : "second";
    push("latency", bootstrapDiff(ba, bb, [...COMPARED], opts));
  } else {
    const one = (v: number[]) => blocksOfValues(v, 1);
    const [ta, tb] = [one(data.total[0]), one(data.total[1])];
    blocksA = ta.length;
    blocksB = tb.length;
    unit = "attempt";
    push("total", bootstrapDiff(ta, tb, [...COMPARED], opts));
    push("connect", bootstrapDiff(one(data.connect[0]), one(data.connect[1]), [...COMPARED], opts));
  }
  const few = 20;
  for (const [name, n] of [["A", blocksA], ["B", blocksB]] as const) {
    if (n < few && n >= 2) {
      notes.push(`${name} has only ${n} ${unit}s to resample: the intervals are rough`);
    }
  }
  const info = (set: ResultsSet, blocks: number): RunInfo => ({
    paths: set.files.map((f) => f.path),
    total: set.combined.total,
    ok: set.combined.ok,
    successPct: set.combined.total ? (set.combined.ok / set.combined.total) * 100 : 0,
    blocks,
    valid: setValid(set),
    ...(set.mergeAsked ? { mergeAsked: true as const } : {}),
    verdicts: set.files.map((f) => formatFileVerdict(f)),
  });
  // A figure of an INVALID run includes the generator's own delay: a difference may be its.
  const warnings: string[] = [];
  for (const [name, set] of [["A", a], ["B", b]] as const) {
    for (const f of set.files) {
      if (verdictOf(f).valid === false) {
        warnings.push(
          `WARNING: ${name} (${f.path}) is an INVALID run: ${
            formatFileVerdict(f)
          }; a difference may be the generator's, not df's`,
        );
      }
    }
  }
  notes.unshift(...warnings);
  // What the reader noticed in each file (truncated, malformed lines, values out of range, ...):
  // summarize says it beside the figures, and so must a comparison built on them.
  for (const [name, set] of [["A", a], ["B", b]] as const) {
    for (const f of set.files) {
      for (const n of notesOf(f)) notes.push(`${name} (${f.path}): ${n}`);
    }
  }
  return {
    test: a.test,
    a: info(a, blocksA),
    b: info(b, blocksB),
    bootstrap: { resamples: opts.resamples, seed: opts.seed, confidence: 0.95, unit },
    rows,
    notes,
  };
}

/** `false` when any file of the run is INVALID, `true` when all are VALID, else `null`. */
function setValid(set: ResultsSet): boolean | null {
  const v = set.files.map((f) => verdictOf(f).valid);
  return v.includes(false) ? false : v.every((x) => x === true) ? true : null;
}

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
  const head = (t: string) =>
    `${t.padEnd(38)}${["A ms", "B ms", "B − A", "%"].map((h) => h.padStart(10)).join("")}  ${
      "95% CI of B − A".padEnd(22)
    }verdict`;
  let metric = "";
  for (const r of c.rows) {
    if (r.metric !== metric) {
      if (metric !== "") out.push("");
      metric = r.metric;
      out.push(head(titles[r.metric] ?? r.metric));
    }
    const pct = r.diffPct === null ? "-" : `${r.diffPct > 0 ? "+" : ""}${r.diffPct.toFixed(1)}%`;
    const ci = r.lo === null || r.hi === null ? "-" : `[${fix(r.lo, true)}, ${fix(r.hi, true)}]`;
    out.push(
      `  p${String(r.p).padEnd(36)}${
        [fix(r.a), fix(r.b), fix(r.diff, true), pct].map((v) => v.padStart(10)).join("")
      }  ${ci.padEnd(22)}${r.verdict}`,
    );
  }
  out.push("");
  out.push(
    `Intervals: percentile bootstrap, ${c.bootstrap.resamples} resamples of ${
      unit === "second" ? "whole seconds" : unit === "block" ? "blocks" : "the attempts"
    }, seed ${c.bootstrap.seed}.`,
  );
  for (const n of c.notes) if (!n.startsWith("WARNING:")) out.push(`note: ${n}`);
  return out.join("\n");
}
