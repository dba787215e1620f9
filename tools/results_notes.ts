/**
 * What a results file says besides its figures, in words: the run's own verdict as smft said it,
 * and the notes a reader must see (malformed, out-of-range, clamped or overlong lines, lines after
 * `#END`, a truncated or interrupted run). Pure; the file is read by `results.ts`.
 *
 * @module
 */
import { formatRunVerdict, verdictFromEnd } from "../smft/verdict.ts";
import { MAX_HEADER_CHARS, MAX_LINE_CHARS } from "./results_lines.ts";
import {
  CEILING_MS,
  interrupted,
  MAX_TIME_MS,
  positiveNumber,
  type ResultsFile,
} from "./results.ts";

/** A verdict as words, as smft said it (`formatRunVerdict`), or why it is unknown. */
export function formatFileVerdict(f: ResultsFile): string {
  const judged = f.test === "01_steady" ? f.acc.latency : f.acc.phases.get("total");
  const stat = judged?.count ? judged.stat() : undefined;
  const v = verdictFromEnd(
    f.end,
    f.meta,
    stat ? { p50: stat.p50, p99: stat.p99 } : undefined,
  );
  if (v) {
    // A file written before #END said interrupted still says so in its #META.
    return formatRunVerdict({ ...v, interrupted: v.interrupted || interrupted(f) });
  }
  if (f.seedFormat) return "unknown: seed format, the file carries no verdict";
  if (f.end === undefined) return "unknown: the file has no #END";
  return "unknown: #END has no valid field";
}

/** The first few of `n` items, one indented line each, and how many more there are. */
function listed(n: number, shown: string[]): string {
  const more = n > shown.length ? `\n  … and ${n - shown.length} more` : "";
  return shown.map((s) => `\n  ${s}`).join("") + more;
}

/** What a reader must know about a file besides its figures, one sentence each. */
export function notesOf(f: ResultsFile): string[] {
  const notes: string[] = [];
  if (f.malformed.count > 0) {
    const n = f.malformed.count;
    const lines = listed(n, f.malformed.first.map((m) => `line ${m.line}: ${m.text}`));
    notes.push(
      `${n} malformed line${n === 1 ? "" : "s"} skipped (not JSON, or no boolean "ok"):${lines}`,
    );
  }
  if (f.outOfRange.count > 0) {
    const n = f.outOfRange.count;
    const at = listed(n, f.outOfRange.first.map((o) => `line ${o.line}: ${o.field} = ${o.value}`));
    notes.push(
      `${n} time value${
        n === 1 ? "" : "s"
      } out of range (not a number from 0 to ${MAX_TIME_MS} ms) left out of the figures; their lines still count:${at}`,
    );
  }
  if (f.clamped.count > 0) {
    const n = f.clamped.count;
    notes.push(
      `${n} time value${n === 1 ? "" : "s"} above ${
        CEILING_MS / 1000
      } s (the histograms' ceiling) counted as ${
        CEILING_MS / 1000
      } s: percentiles that reach them are lower bounds (line${
        f.clamped.first.length === 1 ? "" : "s"
      } ${f.clamped.first.join(", ")}${n > f.clamped.first.length ? ", …" : ""})`,
    );
  }
  if (f.tooLong.count > 0) {
    const n = f.tooLong.count;
    const at = f.tooLong.first.map((t) => `line ${t.line} (${t.chars} characters)`).join(", ");
    notes.push(
      `${n} line${
        n === 1 ? "" : "s"
      } longer than ${MAX_LINE_CHARS} characters (${MAX_HEADER_CHARS} for a # line) skipped unread: ${at}${
        n > f.tooLong.first.length ? ", …" : ""
      }`,
    );
  }
  if (f.afterEnd.count > 0) {
    const n = f.afterEnd.count;
    notes.push(
      `${n} line${
        n === 1 ? "" : "s"
      } after #END (from line ${f.afterEnd.firstLine}) not counted: nothing may follow #END, so the file was written to after its run ended (two writers, or an edit)`,
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
    const elapsed = positiveNumber(f.end?.elapsed_s);
    const planned = positiveNumber(f.meta?.duration_s);
    const span = elapsed !== undefined
      ? ` after ${elapsed.toFixed(1)} s${planned !== undefined ? ` of ${planned} s planned` : ""}`
      : "";
    notes.push(`the run was interrupted${span}: figures cover only what ran`);
  }
  return notes;
}
