/**
 * Writes a results file: `#TEST=`, `#META=`, one JSON line per result, `#END=`.
 *
 * - The file is written as `<file>.partial`, created exclusively before the run sends anything
 *   ({@link ResultsWriter.reserve}): one writer per path, a second run on the same path is
 *   refused ({@link ResultsPathError}).
 * - Lines are buffered and written in blocks of whole lines, at least once a second (and the
 *   first result line at once), so a crash loses at most about a second of lines. On a write
 *   error (disk full, ...)
 *   the `.partial` is cut back to its last whole line and {@link ResultsWriteError} is thrown:
 *   it holds every whole line written so far, never half a line.
 * - Once `#END` is written, the file takes its final name, but never the place of an earlier
 *   file: a complete run moves an earlier file aside under a name carrying that file's own start
 *   time (`01_steady_results.2026-11-28T09-01-02Z.txt`), unless `overwrite`; an interrupted run
 *   takes the final name only when it is free, else it keeps its own name marked `.interrupted`
 *   (`01_steady_results.2026-11-28T09-05-00Z.interrupted.txt`). A crash leaves the `.partial`.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import type { End, Meta, TestName } from "./results_format.ts";

const encoder = new TextEncoder();

/** The output path cannot be used (checked before the run starts): exit 1. */
export class ResultsPathError extends Error {
  override name = "ResultsPathError";
}

/** Writing the results failed during the run (disk full, ...): exit 4. */
export class ResultsWriteError extends Error {
  override name = "ResultsWriteError";
  constructor(message: string, readonly partialPath: string, readonly wholeLines: number) {
    super(message);
  }
}

/** The OS reason of a file-system error, e.g. `No space left on device (os error 28)`. */
export function osReason(e: unknown): string {
  const err = e as Error & { code?: string };
  const msg = (err?.message ?? String(e)).replace(/\s*\n[\s\S]*$/, "");
  // Deno messages end with `: <operation> '<path>'`: the path is said by the caller.
  return msg.replace(/(\)|[a-z]): [a-z]+ '[^']*'(, '[^']*')?$/, "$1");
}

/** `2026-11-28T09-01-02Z`: a time that can be part of a file name on every file system. */
export function fileTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, "Z").replace(/:/g, "-");
}

/**
 * `dir/name<insert>.ext` for `dir/name.ext`; with `ext`, that extension instead.
 *
 * @example
 * ```ts
 * insertBeforeExtension("results/r.txt", "_500rps"); // "results/r_500rps.txt"
 * ```
 */
export function insertBeforeExtension(path: string, insert: string, ext?: string): string {
  const m = /^(.+?)(\.[^.]*)?$/.exec(basename(path))!;
  return join(dirname(path), `${m[1]}${insert}${ext ?? m[2] ?? ""}`);
}

/** `dir/name.<tag>.ext` for `dir/name.ext`. */
export function taggedPath(path: string, tag: string): string {
  return insertBeforeExtension(path, `.${tag}`);
}

/** What an existing results file says about itself: its start time and whether it is whole. */
function describeExisting(path: string): { startMs: number; interrupted: boolean } {
  let startMs: number | undefined;
  let interrupted = false;
  try {
    // The header is at the start, `#END` at the end: read those two ends only.
    const f = Deno.openSync(path, { read: true });
    try {
      const size = f.statSync().size;
      const head = new Uint8Array(Math.min(size, 64 * 1024));
      f.readSync(head);
      const meta = /^#META=(.*)$/m.exec(new TextDecoder().decode(head))?.[1];
      const start = meta ? JSON.parse(meta).start_epoch_ms : undefined;
      // A date's range: an earlier file's crafted value must not stop this run's rename.
      if (typeof start === "number" && Math.abs(start) <= 8.64e15) startMs = start;
      const tailLen = Math.min(size, 512 * 1024);
      const tail = new Uint8Array(tailLen);
      f.seekSync(size - tailLen, Deno.SeekMode.Start);
      f.readSync(tail);
      interrupted = /^#END=.*"interrupted":true/m.test(new TextDecoder().decode(tail));
    } finally {
      f.close();
    }
  } catch { /* not ours or unreadable: its modification time names it */ }
  if (startMs === undefined) {
    try {
      startMs = Deno.statSync(path).mtime?.getTime();
    } catch { /* gone */ }
  }
  return { startMs: startMs ?? Date.now(), interrupted };
}

/**
 * Gives `from` the name `to`, never replacing a file there: a hard link fails when `to` exists
 * (atomic, unlike a rename); where links are not supported, checks and renames. Returns false
 * when `to` is taken.
 */
function renameNoClobber(from: string, to: string): boolean {
  try {
    Deno.linkSync(from, to);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    try {
      Deno.lstatSync(to);
      return false;
    } catch { /* free */ }
    Deno.renameSync(from, to);
    return true;
  }
  Deno.removeSync(from);
  return true;
}

/**
 * Gives `from` the name `base` tagged with `tag` (then `tag-2`, `tag-3`, ... while taken);
 * returns the name.
 */
function moveAside(from: string, base: string, tag: string): string {
  for (let i = 1; i < 1000; i++) {
    const to = taggedPath(base, i === 1 ? tag : `${tag}-${i}`);
    if (renameNoClobber(from, to)) return to;
  }
  throw new Error(`no free name to move ${from} aside`);
}

/** Where a finished file ended up, and what was moved to make room. */
export interface Placement {
  /** The file's final name. */
  path: string;
  /** An earlier file that was moved aside: its old and new names. */
  movedAside?: { from: string; to: string };
  /** An earlier file that `--overwrite` replaced. */
  replaced?: string;
}

/** Streams result lines to a file. */
export class ResultsWriter {
  readonly path: string;
  readonly partialPath: string;
  readonly test: TestName;
  #file: Deno.FsFile | undefined;
  #buffer: string[] = [];
  #bufferedChars = 0;
  #lines = 0;
  /** Result lines known to be on disk, whole. */
  #linesOnDisk = 0;
  #linesBuffered = 0;
  /** Bytes of whole lines on disk. */
  #offset = 0;
  #failed: ResultsWriteError | undefined;
  #begun = false;
  #startMs = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;

  static readonly FLUSH_CHARS = 64 * 1024;
  /** Buffered lines reach the disk at least this often: what a crash can lose. */
  static readonly FLUSH_MS = 1000;

  private constructor(path: string, test: TestName, file: Deno.FsFile) {
    this.path = path;
    this.partialPath = `${path}.partial`;
    this.test = test;
    this.#file = file;
  }

  /**
   * Checks the output path and claims it before the run starts: creates the folders and
   * `<path>.partial` exclusively, and writes `#TEST=` to it (so that a full disk or a read-only
   * folder shows now). Throws {@link ResultsPathError} with one line naming the path and the
   * reason: another run writing the same file, a file where a folder should be, no space, ...
   */
  static reserve(path: string, test: TestName): ResultsWriter {
    const partial = `${path}.partial`;
    try {
      Deno.mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      throw new ResultsPathError(
        `cannot use results folder ${dirname(path)}: ${osReason(e)}${
          e instanceof Deno.errors.AlreadyExists || /Not a directory/i.test(String(e))
            ? " (a file stands where a folder should be)"
            : ""
        }`,
      );
    }
    try {
      if (Deno.statSync(path).isDirectory) {
        throw new ResultsPathError(`cannot write results to ${path}: it is a folder`);
      }
    } catch (e) {
      if (e instanceof ResultsPathError) throw e;
    }
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(partial, { write: true, createNew: true });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) {
        throw new ResultsPathError(
          `${partial} exists: another smft run is writing ${path} (use another --out, or --shard ` +
            `for several load hosts); if no run is, a crashed run left it: move it away first`,
        );
      }
      throw new ResultsPathError(`cannot create ${partial}: ${osReason(e)}`);
    }
    const w = new ResultsWriter(path, test, file);
    try {
      w.#writeAll(encoder.encode(`#TEST=${test}\n`));
    } catch (e) {
      file.close();
      try {
        Deno.removeSync(partial);
      } catch { /* keep what there is */ }
      throw new ResultsPathError(`cannot write ${partial}: ${osReason(e)}`);
    }
    return w;
  }

  /** Reserves the path and writes both header lines at once (tests, tools). */
  static open(path: string, test: TestName, meta: Meta): ResultsWriter {
    const w = ResultsWriter.reserve(path, test);
    w.begin(meta);
    return w;
  }

  /** Writes `#META` (the run's settings, known once it is about to start). */
  begin(meta: Meta): void {
    if (this.#begun) return;
    this.#begun = true;
    if (typeof meta.start_epoch_ms === "number") this.#startMs = meta.start_epoch_ms;
    this.#push(`#META=${JSON.stringify(meta)}\n`, false);
    this.flush();
    // A timer, not the next line, bounds a line's stay in memory: at 1 attempt/s, or when the
    // server stops answering, no next line may come. Unref'd: it never keeps a run alive.
    const timer = setInterval(() => this.#flushQuietly(), ResultsWriter.FLUSH_MS);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Flushes from the timer: a write error stops the run through `onFail`, never throws. */
  #flushQuietly(): void {
    if (this.#failed || !this.#file) return;
    try {
      this.flush();
    } catch (e) {
      if (!(e instanceof ResultsWriteError)) throw e;
      this.onFail?.(e);
    }
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Result lines written so far (buffered or on disk). */
  get lines(): number {
    return this.#lines;
  }

  /** The write error that stopped this writer, if any. */
  get failed(): ResultsWriteError | undefined {
    return this.#failed;
  }

  /** Called once when a write fails during the run (the run should stop). */
  onFail?: (e: ResultsWriteError) => void;

  /**
   * Appends one result line (a JSON object without the newline). Never throws: after a write
   * error lines are dropped, and `failed` and `onFail` say so.
   */
  line(json: string): void {
    if (this.#failed) return;
    this.#lines++;
    try {
      this.#push(json + "\n", true);
      // The first result is on disk at once: a crash right after warm-up still shows it.
      if (this.#lines === 1) this.flush();
    } catch (e) {
      if (!(e instanceof ResultsWriteError)) throw e;
      this.onFail?.(e);
    }
  }

  #push(s: string, isResult: boolean): void {
    this.#buffer.push(s);
    if (isResult) this.#linesBuffered++;
    this.#bufferedChars += s.length;
    if (this.#bufferedChars >= ResultsWriter.FLUSH_CHARS) this.flush();
  }

  /** Writes every byte, or throws with as much written as the OS took. */
  #writeAll(bytes: Uint8Array): void {
    let off = 0;
    try {
      while (off < bytes.length) {
        const n = this.#file!.writeSync(bytes.subarray(off));
        if (n <= 0) throw new Error("write returned 0 bytes");
        off += n;
      }
      this.#offset += off;
    } catch (e) {
      // Keep whole lines only: cut the file back to the last newline that reached it.
      const lastNl = bytes.subarray(0, off).lastIndexOf(10);
      const keep = lastNl + 1;
      try {
        this.#file!.truncateSync(this.#offset + keep);
      } catch { /* nothing more can be done */ }
      this.#offset += keep;
      (e as { keptLines?: number }).keptLines = countNewlines(bytes.subarray(0, keep));
      throw e;
    }
  }

  /**
   * Writes buffered lines to disk (sync: lines stay in order and complete at any exit). On a
   * write error: keeps every whole line, closes, and throws {@link ResultsWriteError}.
   */
  flush(): void {
    if (this.#failed) throw this.#failed;
    if (this.#buffer.length === 0) return;
    const bytes = encoder.encode(this.#buffer.join(""));
    const results = this.#linesBuffered;
    this.#buffer = [];
    this.#bufferedChars = 0;
    this.#linesBuffered = 0;
    try {
      this.#writeAll(bytes);
      this.#linesOnDisk += results;
    } catch (e) {
      const kept = (e as { keptLines?: number }).keptLines ?? 0;
      // The header lines come first in the first block; result lines are the rest.
      const headerInBlock = results === 0 ? kept : countHeaderLines(bytes, kept);
      this.#linesOnDisk += Math.max(0, kept - headerInBlock);
      try {
        this.#file?.close();
      } catch { /* already closed */ }
      this.#file = undefined;
      this.#stopTimer();
      this.#failed = new ResultsWriteError(
        `cannot write ${this.partialPath}: ${osReason(e)}; stopped, ${this.#linesOnDisk} whole ` +
          `result lines kept in it`,
        this.partialPath,
        this.#linesOnDisk,
      );
      throw this.#failed;
    }
  }

  /**
   * Writes `#END`, flushes, closes and gives the file its final name (see the module text).
   * Throws {@link ResultsWriteError} when `#END` cannot be written (the `.partial` stays).
   */
  finish(end: Omit<End, "count">, opts: { overwrite?: boolean } = {}): Placement {
    if (this.#failed) throw this.#failed;
    if (!this.#file) throw new Error("results file already finished");
    this.#stopTimer();
    this.#push(`#END=${JSON.stringify({ count: this.#lines, ...end })}\n`, false);
    this.flush();
    this.#file.close();
    this.#file = undefined;
    return this.#place(end.interrupted === true, opts.overwrite === true);
  }

  /** Removes the `.partial` of a run that never started (nothing measured, nothing to keep). */
  discard(): void {
    this.#stopTimer();
    try {
      this.#file?.close();
    } catch { /* closed */ }
    this.#file = undefined;
    if (this.#lines > 0 || this.#failed) return;
    try {
      Deno.removeSync(this.partialPath);
    } catch { /* gone */ }
  }

  #place(interrupted: boolean, overwrite: boolean): Placement {
    const own = fileTime(this.#startMs);
    if (interrupted) {
      // Never in the place of an earlier file, whatever --overwrite says.
      if (renameNoClobber(this.partialPath, this.path)) return { path: this.path };
      return { path: moveAside(this.partialPath, this.path, `${own}.interrupted`) };
    }
    if (overwrite) {
      let replaced: string | undefined;
      try {
        Deno.lstatSync(this.path);
        replaced = this.path;
      } catch { /* nothing there */ }
      Deno.renameSync(this.partialPath, this.path);
      return { path: this.path, replaced };
    }
    let movedAside: Placement["movedAside"];
    for (let i = 0; i < 5; i++) {
      if (renameNoClobber(this.partialPath, this.path)) return { path: this.path, movedAside };
      const earlier = describeExisting(this.path);
      const tag = `${fileTime(earlier.startMs)}${earlier.interrupted ? ".interrupted" : ""}`;
      movedAside = { from: this.path, to: moveAside(this.path, this.path, tag) };
    }
    // Another run keeps taking the name: keep this file under its own start time.
    return { path: moveAside(this.partialPath, this.path, own), movedAside };
  }
}

function countNewlines(b: Uint8Array): number {
  let n = 0;
  for (const c of b) if (c === 10) n++;
  return n;
}

/** Header lines (`#...`) among the first `lines` lines of `bytes`. */
function countHeaderLines(bytes: Uint8Array, lines: number): number {
  let n = 0;
  let start = 0;
  for (let k = 0; k < lines; k++) {
    if (bytes[start] === 35) n++;
    const nl = bytes.indexOf(10, start);
    if (nl < 0) break;
    start = nl + 1;
  }
  return n;
}
