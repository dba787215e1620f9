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
 * - Once `#END` is written, the file takes its final name, never the place of an earlier file
 *   (`results_path.ts`). A crash leaves the `.partial`.
 *
 * @module
 */
import { dirname } from "node:path";
import type { End, Meta, TestName } from "./results_format.ts";
import { placeFinished, type Placement } from "./results_path.ts";

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
    return placeFinished(this.partialPath, this.path, {
      startMs: this.#startMs,
      interrupted: end.interrupted === true,
      overwrite: opts.overwrite === true,
    });
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
