/**
 * Writes a results file: `#TEST=`, `#META=`, one JSON line per result, `#END=`. Lines are
 * buffered and written in blocks to `<file>.partial`, which is renamed into place once `#END`
 * is written: a file under the final name is always complete, and an interrupted run still
 * ends with a valid `#END` (`"interrupted":true`). A crash leaves only the `.partial` file.
 *
 * @module
 */
import { dirname } from "node:path";
import type { End, Meta, TestName } from "./results_format.ts";

const encoder = new TextEncoder();

/** Streams result lines to a file. */
export class ResultsWriter {
  readonly path: string;
  readonly partialPath: string;
  #file: Deno.FsFile;
  #buffer: string[] = [];
  #bufferedChars = 0;
  #lines = 0;
  #closed = false;

  static readonly FLUSH_CHARS = 64 * 1024;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.partialPath = `${path}.partial`;
    this.#file = file;
  }

  /** Creates the folders and the `.partial` file, and writes the header lines. */
  static open(path: string, test: TestName, meta: Meta): ResultsWriter {
    Deno.mkdirSync(dirname(path), { recursive: true });
    const file = Deno.openSync(`${path}.partial`, { write: true, create: true, truncate: true });
    const w = new ResultsWriter(path, file);
    w.#push(`#TEST=${test}\n#META=${JSON.stringify(meta)}\n`);
    return w;
  }

  /** Result lines written so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Appends one result line (a JSON object without the newline). */
  line(json: string): void {
    this.#lines++;
    this.#push(json + "\n");
  }

  #push(s: string): void {
    this.#buffer.push(s);
    this.#bufferedChars += s.length;
    if (this.#bufferedChars >= ResultsWriter.FLUSH_CHARS) this.flush();
  }

  /** Writes buffered lines to disk (sync: lines stay in order and complete at any exit). */
  flush(): void {
    if (this.#buffer.length === 0) return;
    const bytes = encoder.encode(this.#buffer.join(""));
    this.#buffer = [];
    this.#bufferedChars = 0;
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
  }

  /** Writes `#END`, flushes, closes and renames the file into place. */
  finish(end: Omit<End, "count">): void {
    if (this.#closed) return;
    this.#push(`#END=${JSON.stringify({ count: this.#lines, ...end })}\n`);
    this.flush();
    this.#file.close();
    this.#closed = true;
    Deno.renameSync(this.partialPath, this.path);
  }
}
