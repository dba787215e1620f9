/**
 * What `steady`, `steady --find-capacity` and `coldconn` all print around a run's summary: the
 * method line, the run's and the SLO's verdicts, where the file went, and that no call got through.
 *
 * @module
 */
import { type Target, targetString } from "./channel.ts";
import { allPass, formatSloVerdicts, judgeSlo, type SloClause } from "./slo.ts";
import type { UnaryMethod } from "./unary_method.ts";
import type { CommonConfig } from "./settings.ts";
import { formatRunVerdict, noneGotThrough } from "./verdict.ts";
import type { RunResult } from "./harness.ts";
import { logLine, type stderrProgress } from "./progress.ts";
import { printable } from "./shared/printable.ts";

// Summaries and errors carry what df sent (status messages, certificate subjects): printed
// with control characters escaped.
export const print = (text: string) => console.log(printable(text));
export const printError = (text: string) => console.error(printable(text));

/** The summary's line about the method and the arrival process. */
export function callLines(m: UnaryMethod, c: CommonConfig): string {
  const arrivals = c.arrival === "poisson"
    ? `Arrivals: poisson (exponential gaps, seed ${c.seed}; replay with --seed ${c.seed})`
    : "Arrivals: constant (request i at t0 + i/rate)";
  return `Method: ${m.path.slice(1)} (schema ${m.schema}, request ${m.request.length} bytes${
    m.metadata.length ? `, metadata ${m.metadata.map(([k]) => k).join(", ")}` : ""
  })\n${arrivals}`;
}

/**
 * Says on stderr, in one line, that no call (or attempt) of a finished run got through; returns
 * whether so (the run then exits 1: df unreachable, as at start).
 */
export function saidNoneThrough(r: RunResult, what: "call" | "attempt", target: Target): boolean {
  if (r.interrupted || !noneGotThrough(r.summary.ok, r.summary.failed)) return false;
  const reason = r.summary.topReasons?.[0]?.reason;
  printError(
    `smft: no ${what} got through to ${targetString(target)}: all ${r.summary.failed} failed${
      reason ? ` (most: ${reason})` : ""
    }`,
  );
  return true;
}

/**
 * Prints a run's verdict, then its SLO verdicts (a line each; none without clauses), and returns
 * what they mean for the exit code.
 */
export function printVerdicts(
  r: RunResult,
  clauses: SloClause[],
): { interrupted: boolean; invalid: boolean; sloFailed: boolean } {
  print(formatRunVerdict(r.verdict));
  const slo = judgeSlo(r.summary, clauses);
  if (slo.length) print(formatSloVerdicts(slo));
  return {
    interrupted: r.interrupted,
    invalid: !r.verdict.valid && !r.interrupted,
    sloFailed: !allPass(slo),
  };
}

/**
 * Ends the run's live progress line, then says where the file went and what was moved to make
 * room (one line each).
 */
export function placementLines(
  display: ReturnType<typeof stderrProgress>,
  r: RunResult,
  intended: string,
): void {
  display.done();
  const p = r.placement;
  if (p.movedAside) {
    logLine(display, `smft: kept the earlier ${p.movedAside.from} as ${p.movedAside.to}`);
  }
  if (p.replaced) logLine(display, `smft: replaced the earlier ${p.replaced} (--overwrite)`);
  if (r.interrupted) {
    logLine(
      display,
      `smft: interrupted: ${r.end.count} result lines kept in ${p.path}${
        p.path !== intended ? ` (${intended} holds an earlier run and is left as it was)` : ""
      }`,
    );
  }
}
