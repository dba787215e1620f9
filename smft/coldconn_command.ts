/**
 * The `smft coldconn` command: from its options, one cold-connection run (a new channel and a
 * full TLS handshake per attempt), then its summary, the overlap of attempts, and the verdict.
 *
 * @module
 */
import { type ColdConfig, resolveColdconn } from "./settings.ts";
import { resultsPath } from "./results_path.ts";
import { helpText } from "./help_text.ts";
import { type ColdResult, runColdconn } from "./coldconn.ts";
import { formatProgress, logLine } from "./progress.ts";
import { attemptsText, formatSummary, warmupLine } from "./summary_text.ts";
import { SMFT_CLIENT, versionLine } from "./shared/version.ts";
import { describePacing } from "./shared/pacer.ts";
import { EXIT, exitCode } from "./exit_codes.ts";
import { prepare, reserveAll } from "./command_setup.ts";
import { resolveMethod } from "./method.ts";
import {
  callLines,
  placementLines,
  print,
  printVerdicts,
  saidNoneThrough,
} from "./command_output.ts";

/** coldconn's line that says measurement has begun: what it measures, and what went before. */
function coldMeasuringLine(c: ColdConfig): string {
  const what = c.attempts !== undefined
    ? `${c.attempts} attempts at ${c.rate}/s`
    : `at ${c.rate}/s for ${c.durationS} s`;
  return `smft: measuring ${what} (${
    c.warmupAttempts > 0 ? `${attemptsText(c.warmupAttempts)} of warm-up over` : "no warm-up"
  })`;
}

/** Runs `smft coldconn <args>`; resolves to its exit code. */
export async function coldconnCommand(args: string[]): Promise<number> {
  const resolved = resolveColdconn(args, Deno.env.toObject());
  if (resolved.help) {
    print(helpText("coldconn"));
    return EXIT.ok;
  }
  const c: ColdConfig = resolved.config;
  const { clauses, display, target, signal, cancel } = prepare(c);
  const method = await resolveMethod(c, target, c.deadlineMs);
  const out = resultsPath(c.out, undefined, c.shard);
  const [writer] = reserveAll([out], "02_coldconn");
  logLine(
    display,
    `smft coldconn -> ${c.host}:${c.port} (${c.tlsMode}, verify ${c.serverName}) ${c.rate} attempts/s ${
      c.attempts !== undefined ? `x ${c.attempts}` : `for ${c.durationS} s`
    } after ${
      attemptsText(c.warmupAttempts)
    } of warm-up (not recorded); a new channel and a full TLS handshake per attempt; ${
      versionLine("smft", SMFT_CLIENT)
    }`,
  );
  let r: ColdResult;
  try {
    r = await runColdconn({
      writer,
      overwrite: c.overwrite,
      payload: c.payload,
      method,
      arrival: c.arrival,
      seed: c.seed,
      target,
      rate: c.rate,
      durationS: c.durationS,
      attempts: c.attempts,
      warmupAttempts: c.warmupAttempts,
      deadlineMs: c.deadlineMs,
      out,
      shard: c.shard,
      startAt: c.startAt,
      pacing: c.pacing,
      signal,
      cancel,
      onMeasureStart: () => logLine(display, coldMeasuringLine(c)),
      onProgress: (p) => display.update(formatProgress(p)),
    });
  } catch (e) {
    writer.discard();
    throw e;
  }
  placementLines(display, r, out);
  print(`\n== 02_coldconn -> ${r.file}`);
  print(describePacing(c.pacing));
  print(warmupLine(c.warmupAttempts));
  print(callLines(method, c));
  print(formatSummary(r.summary));
  if (r.maxOverlap > 1) print(`Overlapping attempts: up to ${r.maxOverlap} at once`);
  const verdicts = printVerdicts(r, clauses);
  return exitCode({ ...verdicts, noneThrough: saidNoneThrough(r, "attempt", target) });
}
