/**
 * Reads results files (the format in `smft/results_format.md`, and the seed's bare format)
 * line by line into an `Accumulator`. Memory stays bounded whatever the file's size: only the
 * accumulator's histograms and the first few malformed lines are kept.
 *
 * @module
 */
import { ConfigError } from "../smft/shared/config.ts";
import { Accumulator } from "../smft/summary.ts";
import { TEST_NAMES, type TestName } from "../smft/results_format.ts";

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
export const MALFORMED_KEPT = 5;
/** A kept malformed line is cut to this many characters: one may be megabytes of garbage. */
const MALFORMED_TEXT_MAX = 120;

/**
 * Reads one results file. Throws `ConfigError` (one line naming the path) when the file is
 * missing, empty or not a results file; malformed result lines are counted, never fatal.
 */
export async function readResults(path: string, opts: ReadOptions = {}): Promise<ResultsFile> {
  const file = await openResults(path);
  let test: TestName | undefined;
  let acc: Accumulator | undefined;
  let meta: Record<string, unknown> | undefined;
  let end: Record<string, unknown> | undefined;
  let lines = 0;
  const malformed = { count: 0, first: [] as { line: number; text: string }[] };
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
      lines++;
      acc.add(r);
      onResult?.(r, lineNo, path);
    });
  } catch (e) {
    acc?.destroy();
    throw e;
  }
  if (acc === undefined || test === undefined) throw new ConfigError(`${path}: empty file`);

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
  };
}

/** Several results files of one test, and their exact combination. */
export interface ResultsSet {
  test: TestName;
  files: ResultsFile[];
  /** Every file merged (exact: same buckets, same sums). */
  combined: Accumulator;
  /** Seconds of measurement of the combined run (see `combinedDuration`). */
  durationS?: number;
}

/**
 * Reads several results files (load hosts, or shards of one run) and merges them. All must be of
 * the same test; a file named twice is refused rather than counted twice.
 */
export async function readResultsMany(
  paths: string[],
  opts: ReadOptions = {},
): Promise<ResultsSet> {
  if (paths.length === 0) throw new ConfigError("no results file given");
  const seen = new Set<string>();
  for (const p of paths) {
    if (seen.has(p)) throw new ConfigError(`${p}: given twice`);
    seen.add(p);
  }
  const files: ResultsFile[] = [];
  try {
    for (const p of paths) {
      const f = await readResults(p, opts);
      files.push(f);
      if (f.test !== files[0].test) {
        throw new ConfigError(
          `${p}: ${f.test} results cannot be combined with ${files[0].test} results (${
            files[0].path
          })`,
        );
      }
    }
  } catch (e) {
    for (const f of files) f.acc.destroy();
    throw e;
  }
  const test = files[0].test;
  const combined = new Accumulator(test, { keepSeries: opts.keepSeries ?? true });
  for (const f of files) combined.merge(f.acc);
  return { test, files, combined, durationS: combinedDuration(files) };
}

/**
 * Seconds of measurement a file covers: the planned `META.duration_s`, unless the run stopped
 * early (`interrupted`), where `END.elapsed_s` says how long it really ran, or the file is
 * truncated, where neither is known and the span of send times is used (undefined here).
 */
export function durationOf(f: ResultsFile): number | undefined {
  const planned = positive(f.meta?.duration_s);
  const elapsed = positive(f.end?.elapsed_s);
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

/** What a reader must know about a file besides its figures, one sentence each. */
export function notesOf(f: ResultsFile): string[] {
  const notes: string[] = [];
  if (f.malformed.count > 0) {
    const n = f.malformed.count;
    const lines = f.malformed.first.map((m) => `\n  line ${m.line}: ${m.text}`).join("");
    const more = n > f.malformed.first.length
      ? `\n  … and ${n - f.malformed.first.length} more`
      : "";
    notes.push(
      `${n} malformed line${
        n === 1 ? "" : "s"
      } skipped (not JSON, or no boolean "ok"):${lines}${more}`,
    );
  }
  if (f.lines === 0) {
    notes.push("file holds no results: only its header survived, or the run never started");
  }
  if (f.meta !== undefined && f.end === undefined) {
    notes.push("file has no #END: the run was interrupted or the file is truncated");
  } else if (f.truncated) {
    notes.push(
      `#END counts ${f.end?.count} results but the file holds ${f.lines}: the file is damaged or incomplete`,
    );
  }
  if (interrupted(f)) {
    const elapsed = positive(f.end?.elapsed_s);
    const planned = positive(f.meta?.duration_s);
    const span = elapsed !== undefined
      ? ` after ${elapsed.toFixed(1)} s${planned !== undefined ? ` of ${planned} s planned` : ""}`
      : "";
    notes.push(`the run was interrupted${span}: figures cover only what ran`);
  }
  return notes;
}

// Internals.

function positive(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
}

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

async function openResults(path: string): Promise<Deno.FsFile> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new ConfigError(`${path}: is a directory, not a results file`);
    return await Deno.open(path);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`${path}: file not found`);
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(`${path}: permission denied`);
    }
    if (e instanceof Deno.errors.NotCapable) {
      throw new ConfigError(`${path}: no read permission (run with --allow-read)`);
    }
    throw new ConfigError(`${path}: cannot read (${(e as Error).message})`);
  }
}

/**
 * Calls `fn` with each line (without its `\n`) and its 1-based number. Splits the decoded text
 * itself: measured on a 1,000,000-line file, this is ~25 % faster than `node:readline`, and a
 * callback per line avoids the cost of an async generator per line. Closes the file, also when
 * `fn` throws; errors of `fn` pass through unchanged.
 */
async function eachLine(
  path: string,
  file: Deno.FsFile,
  fn: (line: string, n: number) => void,
): Promise<void> {
  const reader = file.readable.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  let n = 0;
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new ConfigError(`${path}: cannot read (${(e as Error).message})`);
      }
      if (chunk.done) break;
      const text = rest === "" ? chunk.value : rest + chunk.value;
      let start = 0;
      let i: number;
      while ((i = text.indexOf("\n", start)) !== -1) {
        fn(text.slice(start, i), ++n);
        start = i + 1;
      }
      rest = text.slice(start);
    }
    if (rest !== "") fn(rest, ++n);
  } finally {
    // Stops the pipe and closes the file when `fn` threw; a no-op after the last chunk.
    await reader.cancel().catch(() => {});
  }
}
