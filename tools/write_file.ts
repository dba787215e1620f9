/**
 * How the tools write a file of their own (the report page): never over one of their inputs or a
 * results file, and never in place. The text goes to a temporary file in the same folder that is
 * renamed over the target only once whole, so a full disk or a crash leaves the earlier file as
 * it was.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/** The output path is refused (an input, a results file, a folder): exit 1. */
export class OutputPathError extends Error {
  override name = "OutputPathError";
}

/** Identity of a file: device and inode (the same file under two names or through a link). */
function identity(path: string): string | undefined {
  try {
    const s = Deno.statSync(path);
    return s.dev !== null && s.ino !== null ? `${s.dev}:${s.ino}` : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the file at `path` starts like a results file (`#TEST=`, or a `.partial`). */
function isResultsFile(path: string): boolean {
  if (/\.partial$/.test(path)) return true;
  let f: Deno.FsFile | undefined;
  try {
    f = Deno.openSync(path, { read: true });
    const head = new Uint8Array(4096);
    const n = f.readSync(head) ?? 0;
    const text = new TextDecoder().decode(head.subarray(0, n));
    return /^\s*#TEST=/.test(text);
  } catch {
    return false;
  } finally {
    f?.close();
  }
}

/**
 * Refuses `out` (one line, {@link OutputPathError}) when it is one of `inputs` (by name, link or
 * inode), a folder, or a file that holds results (`#TEST=` first, or a `.partial`): a report
 * must never take the place of what it was drawn from.
 */
export function checkOutputPath(out: string, inputs: readonly string[]): void {
  const id = identity(out);
  if (id !== undefined && inputs.some((p) => identity(p) === id)) {
    throw new OutputPathError(`--out ${out} is one of the input files: choose another path`);
  }
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(out);
  } catch { /* nothing there yet */ }
  if (!info) return;
  if (info.isDirectory) throw new OutputPathError(`--out ${out} is a folder: name a file`);
  if (info.isFile && isResultsFile(out)) {
    throw new OutputPathError(
      `--out ${out} holds a results file (it starts with #TEST=): choose another path`,
    );
  }
}

/**
 * Writes `data` to `path` through a temporary file in the same folder (created exclusively),
 * renamed over `path` once written in full: on any failure the temporary file is removed and an
 * earlier `path` is left whole. Creates the folders.
 */
export async function writeFileWhole(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await Deno.writeFile(tmp, bytes, { createNew: true });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
