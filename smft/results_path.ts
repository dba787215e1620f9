/**
 * Where a results file goes: names made from `--out` ({@link resultsPath} for a rate and a
 * shard, {@link insertBeforeExtension}, a file's time as part of a name), and the final place of
 * a finished file ({@link placeFinished}), which never takes the place of an earlier file: a
 * complete run moves an earlier file aside under a name carrying that file's own start time
 * (`01_steady_results.2026-11-28T09-01-02Z.txt`), unless `overwrite`; an interrupted run takes
 * the final name only when it is free, else it keeps its own name marked `.interrupted`
 * (`01_steady_results.2026-11-28T09-05-00Z.interrupted.txt`).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import type { Shard } from "./option_parsers.ts";

/** `2026-11-28T09-01-02Z`: a time that can be part of a file name on every file system. */
function fileTime(epochMs: number): string {
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

/** The results file for one rate of a ladder, and for a shard: `x_1000rps_shard1of2.txt`. */
export function resultsPath(base: string, rate: number | undefined, s: Shard): string {
  const rateTag = rate === undefined ? "" : `_${rate}rps`;
  const shardTag = s.count > 1 ? `_shard${s.index}of${s.count}` : "";
  return insertBeforeExtension(base, `${rateTag}${shardTag}`);
}

/** `dir/name.<tag>.ext` for `dir/name.ext`. */
function taggedPath(path: string, tag: string): string {
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

/**
 * Gives the finished `partialPath` its final name `path` (see the module text); `startMs` is the
 * run's own start time, which names it when it cannot take `path`.
 */
export function placeFinished(
  partialPath: string,
  path: string,
  opts: { startMs: number; interrupted: boolean; overwrite: boolean },
): Placement {
  const own = fileTime(opts.startMs);
  if (opts.interrupted) {
    // Never in the place of an earlier file, whatever --overwrite says.
    if (renameNoClobber(partialPath, path)) return { path };
    return { path: moveAside(partialPath, path, `${own}.interrupted`) };
  }
  if (opts.overwrite) {
    let replaced: string | undefined;
    try {
      Deno.lstatSync(path);
      replaced = path;
    } catch { /* nothing there */ }
    Deno.renameSync(partialPath, path);
    return { path, replaced };
  }
  let movedAside: Placement["movedAside"];
  for (let i = 0; i < 5; i++) {
    if (renameNoClobber(partialPath, path)) return { path, movedAside };
    const earlier = describeExisting(path);
    const tag = `${fileTime(earlier.startMs)}${earlier.interrupted ? ".interrupted" : ""}`;
    movedAside = { from: path, to: moveAside(path, path, tag) };
  }
  // Another run keeps taking the name: keep this file under its own start time.
  return { path: moveAside(partialPath, path, own), movedAside };
}
