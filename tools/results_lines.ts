/**
 * The lines of a results file, read in chunks with each line's length bounded: a line past its
 * limit is skipped unread, never held in memory whole. Only a regular file is opened (a device
 * or FIFO may never end). What the lines mean is `results.ts`'s job.
 *
 * @module
 */
import { ConfigError } from "../smft/shared/layered_config.ts";

/**
 * Longest result line read, in characters (64 Ki). smft's longest result line is a failed
 * coldconn attempt with its error text, well under 2 KiB; a longer line is skipped unread, with
 * a note, and never held in memory whole.
 */
export const MAX_LINE_CHARS = 64 * 1024;
/**
 * Longest `#` line (`#META`, `#END`) read, in characters (4 Mi): `#END` carries up to eight
 * compressed histograms, each a few KiB and at worst some tens of KiB.
 */
export const MAX_HEADER_CHARS = 4 * 1024 * 1024;

/**
 * Opens a results file for reading; any failure (missing, a folder, a device, no permission) is a
 * `ConfigError` of one line naming the path.
 */
export async function openResults(path: string): Promise<Deno.FsFile> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new ConfigError(`${path}: is a directory, not a results file`);
    // A device or FIFO may never end (`/dev/zero`): only a regular file has an end to read to.
    if (!info.isFile) {
      throw new ConfigError(`${path}: not a regular file (a device, FIFO or socket)`);
    }
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
 * callback per line avoids the cost of an async generator per line. A line longer than its limit
 * ({@link MAX_LINE_CHARS}; {@link MAX_HEADER_CHARS} for a `#` line) is never held whole: once
 * past the limit its text is dropped as it arrives, and `tooLong` gets its number and length.
 * Closes the file, also when `fn` throws; errors of `fn` pass through unchanged.
 */
export async function eachLine(
  path: string,
  file: Deno.FsFile,
  fn: (line: string, n: number) => void,
  tooLong: (n: number, chars: number) => void,
): Promise<void> {
  const reader = file.readable.pipeThrough(new TextDecoderStream()).getReader();
  const limit = (start: string) =>
    start.charCodeAt(0) === 35 /* # */ ? MAX_HEADER_CHARS : MAX_LINE_CHARS;
  let rest = "";
  let n = 0;
  // Characters of the current line dropped so far; -1 when the line is being kept.
  let skipped = -1;
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new ConfigError(`${path}: cannot read (${(e as Error).message})`);
      }
      if (chunk.done) break;
      let text = chunk.value;
      if (skipped >= 0) {
        const i = text.indexOf("\n");
        if (i === -1) {
          skipped += text.length;
          continue;
        }
        tooLong(++n, skipped + i);
        skipped = -1;
        text = text.slice(i + 1);
      }
      if (rest !== "") text = rest + text;
      let start = 0;
      let i: number;
      while ((i = text.indexOf("\n", start)) !== -1) {
        const line = text.slice(start, i);
        if (line.length > limit(line)) tooLong(++n, line.length);
        else fn(line, ++n);
        start = i + 1;
      }
      rest = text.slice(start);
      if (rest.length > limit(rest)) {
        skipped = rest.length;
        rest = "";
      }
    }
    if (skipped >= 0) tooLong(++n, skipped);
    else if (rest !== "") fn(rest, ++n);
  } finally {
    // Stops the pipe and closes the file when `fn` threw; a no-op after the last chunk.
    await reader.cancel().catch(() => {});
  }
}
