/**
 * A comparison of two runs of one test, as data: the blocks each test resamples (whole seconds
 * of a steady run, blocks of lines of a seed-format one, coldconn's attempts), the bootstrapped
 * percentile differences, each side's verdict and the notes a reader must see. Pure; the files
 * are read by `command.ts`, the text is `text.ts`'s.
 *
 * @module
 */
import { formatFileVerdict, notesOf } from "../results_notes.ts";
import { verdictOf } from "../results.ts";
import type { ResultsSet } from "../runs.ts";
import type { TestName } from "../../smft/results_format.ts";
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
const COMPARED = [50, 90, 99] as const;
/** Results without send times (the seed's format) are cut into about this many blocks. */
const UNTIMED_BLOCKS = 100;

/** Each side's values the reader collected beside its accumulator (index 0 is A, 1 is B). */
export interface Collected {
  untimed: Map<string, number[]>[];
  total: number[][];
  connect: number[][];
}

/** Compares two read runs of one test, blocks chosen by the test. */
export function compareSets(
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
