/**
 * `compare A B`: how run B's percentiles differ from run A's, with 95 % confidence intervals
 * from a block bootstrap. Requests of one second share the moment's conditions (GC pauses, a busy
 * neighbour), so single requests are not independent: the seconds of each run are resampled
 * whole. Cold-connection attempts are independent and are resampled one by one.
 *
 * @module
 */
import { ConfigError, formatOptions, int, resolveOptions } from "../smft/shared/config.ts";
import {
  type Bucket,
  bucketsOf,
  bucketTop,
  PERCENTILE_DEFINITION,
  percentileRank,
  toMicros,
} from "../smft/histogram.ts";
import { readResultsMany, type ResultsSet } from "./results.ts";
import type { Accumulator } from "../smft/summary.ts";
import type { TestName } from "../smft/results_format.ts";
import { type CommandResult, errorLine, wrap } from "./command.ts";
import { seededRandom } from "./random.ts";

/** One resampling unit: the buckets of its values, their count and exact maximum (µs). */
export interface Block {
  buckets: Bucket[];
  count: number;
  maxUs: number;
}

/** The blocks of a steady run: its seconds of successful response times (empty ones left out). */
export function blocksOfSeconds(acc: Accumulator): Block[] {
  return [...acc.seconds.entries()].sort((x, y) => x[0] - y[0])
    .filter(([, sec]) => sec.latency.count > 0)
    .map(([, sec]) => ({
      buckets: bucketsOf(sec.latency.hist),
      count: sec.latency.count,
      maxUs: sec.latency.maxUs,
    }));
}

/**
 * Blocks of `size` consecutive values (ms), in the order given. Each value is put in the bucket
 * a histogram would, so that percentiles read as the summary's do.
 */
export function blocksOfValues(valuesMs: ArrayLike<number>, size: number): Block[] {
  const out: Block[] = [];
  for (let start = 0; start < valuesMs.length; start += size) {
    const counts = new Map<number, number>();
    let maxUs = 0;
    const stop = Math.min(start + size, valuesMs.length);
    for (let i = start; i < stop; i++) {
      const us = toMicros(valuesMs[i]);
      const top = bucketTop(us);
      counts.set(top, (counts.get(top) ?? 0) + 1);
      if (us > maxUs) maxUs = us;
    }
    const buckets = [...counts.entries()].sort((x, y) => x[0] - y[0])
      .map(([topUs, count]) => ({ topUs, count }));
    out.push({ buckets, count: stop - start, maxUs });
  }
  return out;
}

/** Options of `bootstrapDiff`. */
export interface BootstrapOptions {
  /** Resamples of each run. @default 1000 */
  resamples?: number;
  /** Seed of the PRNG. @default 1 */
  seed?: number;
  /** Confidence level of the intervals. @default 0.95 */
  confidence?: number;
}

/** Verdict on one percentile. */
export type CompareVerdict =
  | "B slower"
  | "B faster"
  | "no significant difference"
  | "too little data";

/** Percentile `p` of A and B, B − A, and its confidence interval; all in ms. */
export interface PercentileDiff {
  p: number;
  a: number | null;
  b: number | null;
  diff: number | null;
  lo: number | null;
  hi: number | null;
  verdict: CompareVerdict;
}

/**
 * Percentiles `ps` of two runs given as blocks, the difference B − A and a percentile-bootstrap
 * confidence interval of it: each resample draws as many blocks as the run has, with replacement.
 * Percentiles follow the summary's definition exactly (same ranks, bucket tops, capped at the
 * exact maximum), so the point figures equal the summary's. Needs two blocks a side at least.
 */
export function bootstrapDiff(
  a: Block[],
  b: Block[],
  ps: number[],
  opts: BootstrapOptions = {},
): PercentileDiff[] {
  const resamples = opts.resamples ?? 1000;
  const alpha = 1 - (opts.confidence ?? 0.95);
  const sorted = [...ps].sort((x, y) => x - y);
  const tops = [...new Set([...a, ...b].flatMap((blk) => blk.buckets.map((k) => k.topUs)))]
    .sort((x, y) => x - y);
  const index = new Map(tops.map((t, i) => [t, i]));
  const pack = (blocks: Block[]): Packed[] =>
    blocks.map((blk) => ({
      idx: Int32Array.from(blk.buckets, (k) => index.get(k.topUs)!),
      cnt: Float64Array.from(blk.buckets, (k) => k.count),
      count: blk.count,
      maxUs: blk.maxUs,
    }));
  const pa = pack(a);
  const pb = pack(b);
  const counts = new Float64Array(tops.length);
  const pointA = percentiles(pa, null, counts, tops, sorted);
  const pointB = percentiles(pb, null, counts, tops, sorted);

  const enough = pa.length >= 2 && pb.length >= 2;
  const diffs = sorted.map(() => new Float64Array(enough ? resamples : 0));
  if (enough) {
    const rng = seededRandom(opts.seed ?? 1);
    for (let r = 0; r < resamples; r++) {
      const ra = percentiles(pa, rng, counts, tops, sorted);
      const rb = percentiles(pb, rng, counts, tops, sorted);
      for (let i = 0; i < sorted.length; i++) diffs[i][r] = rb[i]! - ra[i]!;
    }
  }
  return ps.map((p) => {
    // Worked in integer microseconds so that differences carry no rounding noise.
    const i = sorted.indexOf(p);
    const va = pointA[i];
    const vb = pointB[i];
    const a = va === null ? null : va / 1000;
    const b = vb === null ? null : vb / 1000;
    const diff = va !== null && vb !== null ? (vb - va) / 1000 : null;
    if (diff === null || !enough) {
      return { p, a, b, diff, lo: null, hi: null, verdict: "too little data" };
    }
    const d = diffs[i].sort();
    const lo = d[Math.floor((alpha / 2) * resamples)];
    const hi = d[Math.ceil((1 - alpha / 2) * resamples) - 1];
    const verdict: CompareVerdict = lo > 0
      ? "B slower"
      : hi < 0
      ? "B faster"
      : "no significant difference";
    return { p, a, b, diff, lo: lo / 1000, hi: hi / 1000, verdict };
  });
}

interface Packed {
  idx: Int32Array;
  cnt: Float64Array;
  count: number;
  maxUs: number;
}

/**
 * Percentiles (µs, ascending `ps`) of the blocks, all of them once when `rng` is null, else a
 * resample of as many blocks drawn with replacement. `counts` is scratch space, one per bucket.
 */
function percentiles(
  blocks: Packed[],
  rng: (() => number) | null,
  counts: Float64Array,
  tops: number[],
  ps: number[],
): (number | null)[] {
  counts.fill(0);
  let n = 0;
  let maxUs = 0;
  const m = blocks.length;
  for (let j = 0; j < m; j++) {
    const blk = blocks[rng === null ? j : Math.floor(rng() * m)];
    const { idx, cnt } = blk;
    for (let k = 0; k < idx.length; k++) counts[idx[k]] += cnt[k];
    n += blk.count;
    if (blk.maxUs > maxUs) maxUs = blk.maxUs;
  }
  if (n === 0) return ps.map(() => null);
  const out: number[] = [];
  let seen = 0;
  let k = 0;
  for (const p of ps) {
    const rank = percentileRank(p, n);
    while (seen + counts[k] < rank) seen += counts[k++];
    out.push(Math.min(tops[k], maxUs));
  }
  return out;
}

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
};

/** `compare --help`. */
export function compareHelp(): string {
  return `Usage: compare A B [--json] [--resamples N] [--seed N]

How run B differs from run A in p50, p90 and p99 (B − A, in ms and %), with a 95 % confidence
interval. A and B are results files of the same test; shards of one run are joined by commas
(a1.txt,a2.txt) and merged. Steady: the latency of successful calls, resampling whole seconds of
each run (requests within a second are not independent). Coldconn: total and connect time of
successful attempts, resampling attempts.

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

/** `compare A B [--json]`: the comparison as text or JSON. Exit code 0, or 1 on bad input. */
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
  });
  return {
    test: a.test,
    a: info(a, blocksA),
    b: info(b, blocksB),
    bootstrap: { resamples: opts.resamples, seed: opts.seed, confidence: 0.95, unit },
    rows,
    notes,
  };
}

const fix = (v: number | null, sign = false) =>
  v === null ? "-" : `${sign && v > 0 ? "+" : ""}${v.toFixed(3)}`;

/** The comparison as a text table. */
export function formatComparison(c: Comparison): string {
  const what = c.test === "01_steady" ? "requests" : "attempts";
  // Attempts are their own resampling unit; seconds (or blocks) are worth counting beside requests.
  const unit = c.bootstrap.unit;
  const blocks = (r: RunInfo) => unit === "attempt" ? "" : `, ${r.blocks} ${unit}s`;
  const run = (name: string, r: RunInfo) =>
    `${name}: ${r.paths.join(", ")}  (${r.total} ${what}, ${r.successPct.toFixed(1)}% ok${
      blocks(r)
    })`;
  const out = [`compare ${c.test}`, run("A", c.a), run("B", c.b), ""];
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
  for (const n of c.notes) out.push(`note: ${n}`);
  return out.join("\n");
}
