/**
 * What `steady` and `coldconn` do before their run: SLO clauses, TLS files and their warnings,
 * the target, the interrupt signals, and the claimed results files.
 *
 * @module
 */
import { ConfigError } from "./shared/layered_config.ts";
import { loadTls } from "../certs/tls.ts";
import type { CommonConfig } from "./settings.ts";
import type { Target } from "./channel.ts";
import { parseSlo, type SloClause } from "./slo.ts";
import { ResultsWriter } from "./record.ts";
import { inFlightBoundMs } from "./harness.ts";
import { logLine, stderrProgress } from "./progress.ts";

/**
 * SIGINT and SIGTERM. The first stops scheduling (`signal`) and says what smft still waits for
 * and for how long at most: the calls in flight, bounded by their deadline; the second cancels
 * them (`cancel`): they are written as `CANCELLED` and the file is completed at once.
 */
function interruptSignals(
  deadlineMs: number,
  display: ReturnType<typeof stderrProgress>,
): { signal: AbortSignal; cancel: AbortSignal } {
  const stop = new AbortController();
  const cancel = new AbortController();
  // The loop's bound after the plan, and its half-second grace for abandoned calls.
  const atMostS = Math.ceil((inFlightBoundMs(deadlineMs) + 500) / 1000);
  const on = (name: string) => () => {
    if (!stop.signal.aborted) {
      stop.abort();
      logLine(
        display,
        `smft: ${name}: no new calls; waiting for the calls in flight to end, at most ${atMostS} s ` +
          `(their --deadline-ms ${deadlineMs}, and 2.5 s); ${name} again cancels them ` +
          `(written as CANCELLED)`,
      );
    } else if (!cancel.signal.aborted) {
      cancel.abort();
      logLine(
        display,
        `smft: ${name} again: cancelling the calls in flight (written as CANCELLED), then ` +
          `completing the results file`,
      );
    }
  };
  Deno.addSignalListener("SIGINT", on("SIGINT"));
  Deno.addSignalListener("SIGTERM", on("SIGTERM"));
  return { signal: stop.signal, cancel: cancel.signal };
}

/** What both tests do before their run: TLS files, warnings, SLO clauses, the target. */
export function prepare(c: CommonConfig) {
  let clauses: SloClause[] = [];
  try {
    clauses = c.slo ? parseSlo(c.slo) : [];
  } catch (e) {
    throw new ConfigError(`--slo: ${(e as Error).message}`);
  }
  const material = loadTls(c.tlsMode, { ca: c.ca, cert: c.cert, key: c.key }, "client");
  const display = stderrProgress(c.quiet);
  for (const w of [...(c.envWarnings ?? []), ...material.warnings]) {
    logLine(display, `smft: WARNING: ${w}`);
  }
  if (c.tlsMode === "insecure") {
    logLine(
      display,
      "smft: WARNING: TLS_MODE=insecure: plaintext, no authentication; debugging only",
    );
  }
  const target: Target = {
    host: c.host,
    port: c.port,
    serverName: c.serverName,
    tlsMode: c.tlsMode,
    tls: material,
  };
  return { clauses, display, target, ...interruptSignals(c.deadlineMs, display) };
}

/** What {@link prepare} gives a command. */
export type Prepared = ReturnType<typeof prepare>;

/**
 * Claims each results file before anything is sent (one writer per path, and a full disk or a
 * file where a folder should be is said now): all of them, or none.
 */
export function reserveAll(paths: string[], test: "01_steady" | "02_coldconn"): ResultsWriter[] {
  const writers: ResultsWriter[] = [];
  try {
    for (const p of paths) writers.push(ResultsWriter.reserve(p, test));
  } catch (e) {
    for (const w of writers) w.discard();
    throw e;
  }
  return writers;
}
