/**
 * The `smft steady` command: from its options, one run per rate of `--rps` (a ladder when
 * several), each summary and verdict printed as it ends, then a table of the ladder;
 * `--find-capacity` goes to `capacity_command.ts`.
 *
 * @module
 */
import { resolveSteady, type SteadyConfig } from "./settings.ts";
import { resultsPath } from "./results_path.ts";
import { helpText } from "./help_text.ts";
import { runSteady, type SteadyResult } from "./steady.ts";
import { ownAt } from "./own_delay.ts";
import { formatProgress, logLine } from "./progress.ts";
import { formatSummary } from "./summary_text.ts";
import { SMFT_CLIENT, versionLine } from "./shared/version.ts";
import { describePacing } from "./shared/pacer.ts";
import { EXIT, exitCode } from "./exit_codes.ts";
import { textTable } from "./shared/text_table.ts";
import { prepare, reserveAll } from "./command_setup.ts";
import { resolveMethod } from "./method.ts";
import { steadyRunOf } from "./steady_run.ts";
import {
  callLines,
  placementLines,
  print,
  printVerdicts,
  saidNoneThrough,
} from "./command_output.ts";
import { capacityCommand, type SmftHooks } from "./capacity_command.ts";

/** Runs `smft steady <args>`; resolves to its exit code. */
export async function steadyCommand(args: string[], hooks: SmftHooks): Promise<number> {
  const r = resolveSteady(args, Deno.env.toObject());
  if (r.help) {
    print(helpText("steady"));
    return EXIT.ok;
  }
  const c: SteadyConfig = r.config;
  if (c.capacity) return await capacityCommand(c, c.capacity, hooks);
  const { clauses, display, target, signal, cancel } = prepare(c);
  const method = await resolveMethod(c, target, c.connectTimeoutMs);
  const results: SteadyResult[] = [];
  const ladder = c.rates.length > 1;
  let invalid = false;
  let sloFail = false;
  let interrupted = false;
  let noneThrough = false;
  const paths = c.rates.map((rate) => resultsPath(c.out, ladder ? rate : undefined, c.shard));
  const writers = reserveAll(paths, "01_steady");
  logLine(
    display,
    `smft steady -> ${c.host}:${c.port} (${c.tlsMode}, verify ${c.serverName}) rate ${
      c.rates.join(",")
    }/s shard ${c.shard.index}/${c.shard.count}${
      c.connections > 1 ? ` over ${c.connections} connections (a thread each)` : ""
    }${c.method ? ` calling ${c.method.call}` : ""}${
      c.arrival === "poisson" ? ` poisson arrivals (seed ${c.seed})` : ""
    } warm-up ${c.warmupS} s, measure ${c.durationS} s; ${versionLine("smft", SMFT_CLIENT)}`,
  );
  try {
    for (const [k, rate] of c.rates.entries()) {
      if (signal.aborted) break;
      const out = paths[k];
      const r = await runSteady({
        ...steadyRunOf(c, rate, out, writers[k], { target, display, signal, cancel, method }),
        // The shared instant is the first rate's; later rates start when the one before ends
        // (their run ids differ, so no tool merges them as shards of one run).
        startAt: k === 0 ? c.startAt : undefined,
        onProgress: (p) => display.update(formatProgress(p, ladder ? `[${rate}/s] ` : "")),
      });
      results.push(r);
      placementLines(display, r, out);
      const tls = r.meta.tls;
      print(`\n== 01_steady at ${rate}/s -> ${r.file}`);
      if (tls) print(`TLS: ${tls.version} ${tls.cipher}`);
      print(describePacing(c.pacing, c.connections));
      print(callLines(method, c));
      print(formatSummary(r.summary));
      const v = printVerdicts(r, clauses);
      if (v.sloFailed) sloFail = true;
      if (saidNoneThrough(r, "call", target)) noneThrough = true;
      if (v.invalid) invalid = true;
      if (v.interrupted) interrupted = true;
    }
  } finally {
    // Files of rates that never ran (interrupted, or an error) are released.
    for (const w of writers.slice(results.length)) w.discard();
  }
  if (ladder && results.length > 1) print("\n" + ladderTable(results));
  return exitCode({ interrupted, invalid, sloFailed: sloFail, noneThrough });
}

/** A ladder's runs as one table, a row per rate (pure). */
export function ladderTable(results: SteadyResult[]): string {
  const rows = [[
    "rate/s",
    "achieved/s",
    "ok %",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "own p99",
    "run",
  ]];
  for (const r of results) {
    const l = r.summary.latency;
    rows.push([
      String(r.meta.rate),
      r.verdict.achievedRate.toFixed(1),
      r.summary.successPct.toFixed(2),
      ...(l
        ? [l.p50, l.p90, l.p99, l.p999, l.max].map((v) => v.toFixed(2))
        : ["-", "-", "-", "-", "-"]),
      r.verdict.own ? ownAt(r.verdict.own).p99.toFixed(3) : "-",
      r.verdict.valid ? "VALID" : "INVALID",
    ]);
  }
  return textTable(rows);
}
