/**
 * Reads results files (the format in `smft/results_format.md`, and the seed's bare format)
 * line by line (`results_lines.ts`) into an `Accumulator`. Memory stays bounded whatever the
 * file's size: only the accumulator's histograms and the first few malformed lines are kept.
 * What a file says in words (its notes, its verdict) is `results_notes.ts`'s.
 *
 * @module
 */
import { ConfigError } from "../smft/shared/layered_config.ts";
import { Accumulator } from "../smft/summary.ts";
import { PHASES, TEST_NAMES, type TestName } from "../smft/results_format.ts";
import { HIGHEST_TRACKABLE_US } from "../smft/histogram.ts";
import { withDecoded } from "../smft/histogram.ts";
import { eachLine, openResults } from "./results_lines.ts";

/** How a results file read. */
export interface ResultsFile {
  path: string;
  test: TestName;
  /** The `#META=` object, when the file has one (new format). */
  meta?: Record<string, unknown>;
  /** The `#END=` object, when the file has one (a run that finished writing). */
  end?: Record<string, unknown>;
  /** Everything the result lines said. */
  acc: Accumulator;
  /** Result lines read (not counting `#` lines, blank lines or malformed lines). */
  lines: number;
  /** Lines that are not JSON, or have no boolean `ok`: skipped, counted, the first few kept. */
  malformed: { count: number; first: { line: number; text: string }[] };
  /** A `#META` without an `#END`, or an `#END` whose `count` differs from `lines`. */
  truncated: boolean;
  /** The seed's bare format: neither `#META` nor `#END`. */
  seedFormat: boolean;
  /**
   * Time fields that were not a time (not a number, negative, or above {@link MAX_TIME_MS}):
   * removed from their line, which still counts; the first few kept with their line numbers.
   */
  outOfRange: { count: number; first: { line: number; field: string; value: string }[] };
  /** Times above the histograms' ceiling (60 s), recorded as 60 s; the first line numbers kept. */
  clamped: { count: number; first: number[] };
  /** Lines longer than their limit (`MAX_LINE_CHARS` in `results_lines.ts`), skipped unread. */
  tooLong: { count: number; first: { line: number; chars: number }[] };
  /** Lines after the first `#END` (nothing may follow it): skipped, counted. */
  afterEnd: { count: number; firstLine?: number };
}

/** The run's own verdict, as its `#END` gives it. */
export interface FileVerdict {
  /** `true` VALID, `false` INVALID, `null` unknown (seed format, or no `#END`). */
  valid: boolean | null;
  /** Why it is INVALID, when the writer said (`#END.verdict_reasons`). */
  reasons: string[];
  /** The run was stopped early (SIGINT/SIGTERM). */
  interrupted: boolean;
}

/** Options of `readResults`. */
export interface ReadOptions {
  /**
   * Keep per-second series and attempt rows (compare and report need them; a summary does not,
   * and skips their memory).
   * @default true
   */
  keepSeries?: boolean;
  /** Sees every result line after the accumulator has, with its 1-based line number. */
  onResult?: (result: Record<string, unknown>, line: number, path: string) => void;
}

/** Malformed lines kept for the report; the rest are only counted. */
const MALFORMED_KEPT = 5;

/**
 * Largest time a reader takes from a result line, in ms: one week, smft's longest plan
 * (`T_DURATION_SEC` up to 604,800 s; its longest deadline is 1 h). A time field that is not a
 * number, is negative, or is larger is not a time: it is removed from its line (the line still
 * counts, ok or not) and noted with its file and line. Times above the histograms' ceiling (60 s,
 * `HIGHEST_TRACKABLE_US` in `smft/histogram.ts`) and up to this are recorded as 60 s, and noted:
 * dropping them would make the high percentiles look better than they were.
 */
export const MAX_TIME_MS = 604_800_000;

/** The time fields of result lines (ms), checked against {@link MAX_TIME_MS} before use. */
const TIME_FIELDS: readonly string[] = [
  "latency_ms",
  "service_ms",
  "lag_ms",
  "t_ms",
  "df_ms",
  ...PHASES.map((p) => `t_${p}_ms`),
];

/** The histograms' ceiling, in ms: a time above it is recorded as this. */
export const CEILING_MS = HIGHEST_TRACKABLE_US / 1000;
/** A kept malformed line is cut to this many characters: one may be megabytes of garbage. */
const MALFORMED_TEXT_MAX = 120;

/**
 * Reads one results file. Throws `ConfigError` (one line naming the path) when the file is
 * missing, empty or not a results file; malformed result lines, time fields out of range, lines
 * too long and lines after `#END` are counted and noted, never fatal.
 */
export async function readResults(path: string, opts: ReadOptions = {}): Promise<ResultsFile> {
  const file = await openResults(path);
  let test: TestName | undefined;
  let acc: Accumulator | undefined;
  let meta: Record<string, unknown> | undefined;
  let end: Record<string, unknown> | undefined;
  let lines = 0;
  const malformed = { count: 0, first: [] as { line: number; text: string }[] };
  const outOfRange = {
    count: 0,
    first: [] as { line: number; field: string; value: string }[],
  };
  const clamped = { count: 0, first: [] as number[] };
  const tooLong = { count: 0, first: [] as { line: number; chars: number }[] };
  const afterEnd: { count: number; firstLine?: number } = { count: 0 };
  const bad = (line: number, text: string) => {
    malformed.count++;
    if (malformed.first.length < MALFORMED_KEPT) {
      const cut = text.length > MALFORMED_TEXT_MAX ? `${text.slice(0, MALFORMED_TEXT_MAX)}…` : text;
      malformed.first.push({ line, text: cut });
    }
  };
  const onResult = opts.onResult;

  try {
    await eachLine(path, file, (raw, lineNo) => {
      const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (acc === undefined) {
        if (text.trim() === "") return;
        test = testOf(path, text);
        acc = new Accumulator(test, { keepSeries: opts.keepSeries ?? true });
        return;
      }
      if (end !== undefined) {
        // A writer writes nothing after #END: what follows is not part of the run.
        if (text.trim() === "") return;
        if (afterEnd.count++ === 0) afterEnd.firstLine = lineNo;
        return;
      }
      if (text.charCodeAt(0) === 35 /* # */) {
        if (text.startsWith("#META=")) {
          const o = parseObject(text.slice(6));
          if (o === undefined) bad(lineNo, text);
          else meta ??= o;
        } else if (text.startsWith("#END=")) {
          const o = parseObject(text.slice(5));
          if (o === undefined) bad(lineNo, text);
          else end = o;
        }
        // Any other `#` line is a comment.
        return;
      }
      const r = parseObject(text);
      if (r === undefined || typeof r.ok !== "boolean") {
        // Blank lines are tolerated; checked only here to keep the common path short.
        if (text.trim() !== "") bad(lineNo, text);
        return;
      }
      checkTimes(r, lineNo, outOfRange, clamped);
      lines++;
      acc.add(r);
      onResult?.(r, lineNo, path);
    }, (lineNo, chars) => {
      tooLong.count++;
      if (tooLong.first.length < MALFORMED_KEPT) tooLong.first.push({ line: lineNo, chars });
    });
  } catch (e) {
    acc?.destroy();
    throw e;
  }
  if (acc === undefined || test === undefined) throw new ConfigError(`${path}: empty file`);
  addOwnDelay(acc, end);

  const endCount = end?.count;
  const truncated = (meta !== undefined && end === undefined) ||
    (typeof endCount === "number" && endCount !== lines);
  return {
    path,
    test,
    meta,
    end,
    acc,
    lines,
    malformed,
    truncated,
    seedFormat: meta === undefined && end === undefined,
    outOfRange,
    clamped,
    tooLong,
    afterEnd,
  };
}

/**
 * Checks the time fields of a result line: one that is not a time is deleted from `r` (so no
 * figure uses it) and counted; one above the histograms' ceiling is counted as clamped.
 */
function checkTimes(
  r: Record<string, unknown>,
  line: number,
  outOfRange: ResultsFile["outOfRange"],
  clamped: ResultsFile["clamped"],
): void {
  for (const field of TIME_FIELDS) {
    if (!(field in r)) continue;
    const v = r[field];
    if (typeof v === "number" && v >= 0 && v <= MAX_TIME_MS) {
      // t_ms is a point in time, not recorded in a histogram.
      if (v > CEILING_MS && field !== "t_ms") {
        if (clamped.count++ < MALFORMED_KEPT) clamped.first.push(line);
      }
      continue;
    }
    // null is how some writers say "absent"; it is not a problem.
    if (v === null) continue;
    delete r[field];
    outOfRange.count++;
    if (outOfRange.first.length < MALFORMED_KEPT) {
      const value = typeof v === "number" ? String(v) : JSON.stringify(v) ?? String(v);
      outOfRange.first.push({ line, field, value: value.slice(0, 40) });
    }
  }
}

/**
 * The generator's own delay from `#END`, into the accumulator, so that merged files merge it too:
 * the read side's busy intervals (`histograms.read_gap_us` over `read_window_ms`) and the I/O
 * probe's round trips (`histograms.io_probe_us`). A malformed one is left out: the figure is then
 * not shown, never made up.
 */
function addOwnDelay(acc: Accumulator, end: Record<string, unknown> | undefined): void {
  const hists = end?.histograms as Record<string, unknown> | undefined;
  const gaps = hists?.read_gap_us, windowMs = end?.read_window_ms, probe = hists?.io_probe_us;
  const rtt = hists?.io_probe_rtt_us;
  try {
    if (typeof gaps === "string" && typeof windowMs === "number" && windowMs > 0) {
      withDecoded(gaps, (h) => acc.addReadGaps(h, windowMs));
    }
  } catch { /* Not a histogram: no read side for this file. */ }
  try {
    if (typeof probe === "string") withDecoded(probe, (h) => acc.addIoProbe(h));
  } catch { /* Not a histogram: no probe for this file. */ }
  try {
    if (typeof rtt === "string") withDecoded(rtt, (h) => acc.addIoProbe(h, "rtt"));
  } catch { /* Not a histogram: none kept for this file. */ }
}

/** The run's own verdict, from its `#END` (`valid`, `verdict_reasons`, `interrupted`). */
export function verdictOf(f: ResultsFile): FileVerdict {
  const v = f.end?.valid;
  const raw = f.end?.verdict_reasons;
  const reasons = Array.isArray(raw)
    ? raw.filter((x): x is string => typeof x === "string").map((x) => x.slice(0, 200))
    : [];
  return { valid: typeof v === "boolean" ? v : null, reasons, interrupted: interrupted(f) };
}

/**
 * Seconds of measurement a file covers: the planned `META.duration_s`, unless the run stopped
 * early (`interrupted`), where `END.elapsed_s` says how long it really ran, or the file is
 * truncated, where neither is known and the span of send times is used (undefined here).
 */
export function durationOf(f: ResultsFile): number | undefined {
  const planned = positiveNumber(f.meta?.duration_s);
  const elapsed = positiveNumber(f.end?.elapsed_s);
  if (interrupted(f)) return elapsed;
  if (f.truncated) return undefined;
  return planned ?? elapsed;
}

/**
 * Seconds of measurement of several files that ran side by side (shards of one load): the
 * longest of them. Undefined when no file knows its duration.
 */
export function combinedDuration(files: ResultsFile[]): number | undefined {
  const known = files.map(durationOf).filter((d): d is number => d !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

/** Whether the run that wrote `f` says it was stopped early. */
export function interrupted(f: ResultsFile): boolean {
  return f.end?.interrupted === true || f.meta?.interrupted === true;
}

/** `v` when it is a finite number above 0. */
export function positiveNumber(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
}

// Internals.

function parseObject(text: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? v as Record<string, unknown>
    : undefined;
}

function testOf(path: string, firstLine: string): TestName {
  const t = firstLine.trim();
  const expected = `#TEST=${TEST_NAMES.join(" or #TEST=")}`;
  if (!t.startsWith("#TEST=")) {
    throw new ConfigError(`${path}: not a results file (first line must be ${expected})`);
  }
  const name = t.slice(6).trim();
  if (!(TEST_NAMES as string[]).includes(name)) {
    throw new ConfigError(
      `${path}: unknown test ${JSON.stringify(name)} on its first line (expected ${expected})`,
    );
  }
  return name as TestName;
}
