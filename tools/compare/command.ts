/**
 * `compare A B`: how run B's percentiles differ from run A's, with 95 % confidence intervals
 * from a block bootstrap (`bootstrap.ts`). This module reads the files and collects each side's
 * values; `model.ts` picks the blocks of each test and compares, `text.ts` prints the table.
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
import { readResultsMany, type ResultsSet } from "../runs.ts";
import { type CommandResult, errorLine, wrap } from "../command_result.ts";
import { compareSets } from "./model.ts";
import { formatComparison } from "./text.ts";

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
function compareHelp(): string {
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
