/**
 * smft's command line: `steady` and `coldconn`. The only place smft reads arguments and the
 * environment, and prints; `main.ts` (the tasks) and `tools/main.ts` (the compiled `./smft`,
 * which adds the tools so that a load host needs one binary) call {@link smftMain}.
 *
 * @module
 */
import { ConfigError } from "./shared/config.ts";
import { loadTls, TlsFileError } from "../certs/tls.ts";
import {
  type ColdConfig,
  type CommonConfig,
  helpText,
  resolveColdconn,
  resolveSteady,
  resultsPath,
  type SteadyConfig,
} from "./options.ts";
import { runColdconn } from "./coldconn.ts";
import { type Target, targetString } from "./channel.ts";
import { formatVerdicts, judgeSlo, parseSlo, type SloClause } from "./slo.ts";
import { connectForRun, type SteadyResult, type SteadyRun, UnreachableError } from "./steady.ts";
import { openChannel } from "./channel.ts";
import { loadProtoFiles, type UnaryMethod, unaryMethod } from "./method.ts";
import { reflectService } from "./reflection.ts";
import { encodeJsonVector, GET_SCORE_PATH } from "../proto/score.ts";
import { ConnectionFailedError, runSteadyTest } from "./connections.ts";
import { formatRunVerdict, noneGotThrough } from "./verdict.ts";
import { ownAt } from "./own_delay.ts";
import {
  insertBeforeExtension,
  ResultsPathError,
  ResultsWriteError,
  ResultsWriter,
} from "./record.ts";
import { inFlightBoundMs, type RunResult } from "./harness.ts";
import { formatProgress, logLine, stderrProgress } from "./progress.ts";
import { attemptsText, formatSummary, warmupLine } from "./summary.ts";
import { findCapacity, formatCapacitySteps } from "./capacity.ts";
import { TOOL_VERSION, versionLine } from "./shared/version.ts";
import { describePacing } from "./shared/pacer.ts";
import { EXIT, exitCode } from "./exit_codes.ts";
import { printable } from "./shared/printable.ts";
import { textTable } from "./shared/text_table.ts";

// Summaries and errors carry what df sent (status messages, certificate subjects): printed
// with control characters escaped.
const print = (text: string) => console.log(printable(text));
const printError = (text: string) => console.error(printable(text));

/** The load generator's two commands, for the usage texts of both entry points. */
export const SMFT_COMMANDS_USAGE =
  `  steady      a fixed request rate over one reused channel        (deno task steady)
  coldconn    a new TLS channel per attempt, timed phase by phase (deno task coldconn)`;

const USAGE = `smft: gRPC latency load generator for df (TLS 1.3 + mutual TLS)

Usage: smft <command> [options]

Commands:
${SMFT_COMMANDS_USAGE}

Run "smft <command> --help" for its options. "smft --version" prints the version.
`;

export { EXIT, exitCode };

function fail(message: string): never {
  printError(`smft: ${message}`);
  Deno.exit(EXIT.config);
}

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
function prepare(c: CommonConfig) {
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

/**
 * The method every call of the run makes, encoded before the run: from `--proto` files, or
 * from the server's reflection over a channel like the run's (same TLS); else df's GetScore.
 */
async function resolveMethod(
  c: CommonConfig & { payload: string },
  target: Target,
  connectTimeoutMs: number,
): Promise<UnaryMethod> {
  const m = c.method;
  if (!m) {
    return {
      path: GET_SCORE_PATH,
      request: encodeJsonVector(c.payload),
      metadata: c.metadata,
      schema: "built-in proto/score.proto",
    };
  }
  const made = (root: Parameters<typeof unaryMethod>[0], schema: string) =>
    unaryMethod(root, { ...m, metadata: c.metadata, schema });
  if (!m.reflect) return made(loadProtoFiles(m.proto, m.importPath), `proto:${m.proto.join(",")}`);
  const channel = openChannel(target);
  try {
    await connectForRun(channel, { target, connectTimeoutMs });
    const service = m.call.replace(/^\//, "").split("/")[0];
    const r = await reflectService(channel.client, service, connectTimeoutMs);
    return made(r.root, `reflection:${r.version}`);
  } finally {
    channel.client.close();
  }
}

/** The summary's line about the method and the arrival process. */
function callLines(m: UnaryMethod, c: CommonConfig): string {
  const arrivals = c.arrival === "poisson"
    ? `Arrivals: poisson (exponential gaps, seed ${c.seed}; replay with --seed ${c.seed})`
    : "Arrivals: constant (request i at t0 + i/rate)";
  return `Method: ${m.path.slice(1)} (schema ${m.schema}, request ${m.request.length} bytes${
    m.metadata.length ? `, metadata ${m.metadata.map(([k]) => k).join(", ")}` : ""
  })\n${arrivals}`;
}

/** One steady run of rate `rate` into `out`, from the settings (the caller adds the rest). */
function steadyRun(
  c: SteadyConfig,
  rate: number,
  out: string,
  writer: ResultsWriter,
  ctx: Pick<ReturnType<typeof prepare>, "target" | "display" | "signal" | "cancel"> & {
    method: UnaryMethod;
  },
): SteadyRun {
  return {
    method: ctx.method,
    arrival: c.arrival,
    seed: c.seed,
    writer,
    overwrite: c.overwrite,
    target: ctx.target,
    rate,
    durationS: c.durationS,
    warmupS: c.warmupS,
    deadlineMs: c.deadlineMs,
    connectTimeoutMs: c.connectTimeoutMs,
    payload: c.payload,
    out,
    shard: c.shard,
    connections: c.connections,
    pacing: c.pacing,
    signal: ctx.signal,
    cancel: ctx.cancel,
    onMeasureStart: () => logLine(ctx.display, measuringLine(rate, c.durationS)),
  };
}

/** The line that says measurement has begun: scripts and tests wait for it, not for time. */
function measuringLine(rate: number, durationS: number): string {
  return `smft: measuring at ${rate}/s for ${durationS} s (warm-up over)`;
}

/**
 * Says on stderr, in one line, that no call (or attempt) of a finished run got through; returns
 * whether so (the run then exits 1: df unreachable, as at start).
 */
function saidNoneThrough(r: RunResult, what: "call" | "attempt", target: Target): boolean {
  if (r.interrupted || !noneGotThrough(r.summary.ok, r.summary.failed)) return false;
  const reason = r.summary.topReasons?.[0]?.reason;
  printError(
    `smft: no ${what} got through to ${targetString(target)}: all ${r.summary.failed} failed${
      reason ? ` (most: ${reason})` : ""
    }`,
  );
  return true;
}

/** coldconn's line that says measurement has begun: what it measures, and what went before. */
function coldMeasuringLine(c: ColdConfig): string {
  const what = c.attempts !== undefined
    ? `${c.attempts} attempts at ${c.rate}/s`
    : `at ${c.rate}/s for ${c.durationS} s`;
  return `smft: measuring ${what} (${
    c.warmupAttempts > 0 ? `${attemptsText(c.warmupAttempts)} of warm-up over` : "no warm-up"
  })`;
}

/** Prints SLO verdicts; returns whether a clause failed. */
function sloFailed(clauses: SloClause[], summary: Parameters<typeof judgeSlo>[0]): boolean {
  if (!clauses.length) return false;
  const verdicts = judgeSlo(summary, clauses);
  print(formatVerdicts(verdicts));
  return verdicts.some((v) => !v.pass);
}

/** Says where the file went and what was moved to make room (one line each). */
function placementLines(
  display: ReturnType<typeof stderrProgress>,
  r: RunResult,
  intended: string,
): void {
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

/**
 * Claims each results file before anything is sent (one writer per path, and a full disk or a
 * file where a folder should be is said now): all of them, or none.
 */
function reserveAll(paths: string[], test: "01_steady" | "02_coldconn"): ResultsWriter[] {
  const writers: ResultsWriter[] = [];
  try {
    for (const p of paths) writers.push(ResultsWriter.reserve(p, test));
  } catch (e) {
    for (const w of writers) w.discard();
    throw e;
  }
  return writers;
}

async function steady(args: string[], hooks: SmftHooks): Promise<number> {
  const r = resolveSteady(args, Deno.env.toObject());
  if (r.help) {
    print(helpText("steady"));
    return EXIT.ok;
  }
  const c: SteadyConfig = r.config;
  if (c.capacity) return await capacity(c, c.capacity, hooks);
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
    } warm-up ${c.warmupS} s, measure ${c.durationS} s; ${versionLine("smft")}`,
  );
  try {
    for (const [k, rate] of c.rates.entries()) {
      if (signal.aborted) break;
      const out = paths[k];
      const r = await runSteadyTest({
        ...steadyRun(c, rate, out, writers[k], { target, display, signal, cancel, method }),
        // The shared instant is the first rate's; later rates start when the one before ends
        // (their run ids differ, so no tool merges them as shards of one run).
        startAt: k === 0 ? c.startAt : undefined,
        onProgress: (p) => display.update(formatProgress(p, ladder ? `[${rate}/s] ` : "")),
      });
      display.done();
      results.push(r);
      placementLines(display, r, out);
      const tls = r.meta.tls;
      print(`\n== 01_steady at ${rate}/s -> ${r.file}`);
      if (tls) print(`TLS: ${tls.version} ${tls.cipher}`);
      print(describePacing(c.pacing, c.connections));
      print(callLines(method, c));
      print(formatSummary(r.summary));
      print(formatRunVerdict(r.verdict));
      if (sloFailed(clauses, r.summary)) sloFail = true;
      if (saidNoneThrough(r, "call", target)) noneThrough = true;
      if (!r.verdict.valid && !r.interrupted) invalid = true;
      if (r.interrupted) interrupted = true;
    }
  } finally {
    // Files of rates that never ran (interrupted, or an error) are released.
    for (const w of writers.slice(results.length)) w.discard();
  }
  if (ladder && results.length > 1) print("\n" + ladderTable(results));
  return exitCode({ interrupted, invalid, sloFailed: sloFail, noneThrough });
}

async function coldconn(args: string[]): Promise<number> {
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
      versionLine("smft")
    }`,
  );
  let r: Awaited<ReturnType<typeof runColdconn>>;
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
  display.done();
  placementLines(display, r, out);
  print(`\n== 02_coldconn -> ${r.file}`);
  print(describePacing(c.pacing));
  print(warmupLine(c.warmupAttempts));
  print(callLines(method, c));
  print(formatSummary(r.summary));
  if (r.maxOverlap > 1) print(`Overlapping attempts: up to ${r.maxOverlap} at once`);
  print(formatRunVerdict(r.verdict));
  const sloFail = sloFailed(clauses, r.summary);
  return exitCode({
    noneThrough: saidNoneThrough(r, "attempt", target),
    interrupted: r.interrupted,
    invalid: !r.verdict.valid && !r.interrupted,
    sloFailed: sloFail,
  });
}

/**
 * `steady --find-capacity`: one run per rate the planner asks for (each kept under the ladder's
 * file name), then the answer, the steps, and a ladder report.
 */
async function capacity(
  c: SteadyConfig,
  bounds: NonNullable<SteadyConfig["capacity"]>,
  hooks: SmftHooks,
): Promise<number> {
  const { clauses, display, target, signal, cancel } = prepare(c);
  const method = await resolveMethod(c, target, c.connectTimeoutMs);
  logLine(
    display,
    `smft steady --find-capacity -> ${c.host}:${c.port} from ${c.rates[0]}/s (x2 up, then ` +
      `bisect to ${bounds.precision * 100} %, at most ${bounds.maxSteps} steps, ` +
      `${bounds.maxRate}/s max), SLO ${c.slo}; each step: warm-up ${c.warmupS} s, measure ` +
      `${c.durationS} s; ${versionLine("smft")}`,
  );
  const runsAt = new Map<number, number>();
  const answer = await findCapacity(
    {
      slo: clauses,
      start: c.rates[0],
      precision: bounds.precision,
      maxRate: bounds.maxRate,
      maxSteps: bounds.maxSteps,
      signal,
      onStep: (s, next) =>
        logLine(
          display,
          `smft: capacity step ${s.rate}/s: ${s.valid ? "VALID" : "INVALID"}, SLO ${
            s.sloPass ? "met" : "failed"
          }${next.done ? "" : ` -> next ${next.next}/s`}`,
        ),
    },
    async (rate) => {
      // A rate run again (its first run was INVALID) gets a file of its own: `_<rate>rps_2`.
      const n = (runsAt.get(rate) ?? 0) + 1;
      runsAt.set(rate, n);
      const first = resultsPath(c.out, rate, c.shard);
      const out = n === 1 ? first : insertBeforeExtension(first, `_${n}`);
      const writer = ResultsWriter.reserve(out, "01_steady");
      let r: SteadyResult;
      try {
        r = await runSteadyTest({
          ...steadyRun(c, rate, out, writer, { target, display, signal, cancel, method }),
          onProgress: (p) => display.update(formatProgress(p, `[${rate}/s] `)),
        });
      } catch (e) {
        writer.discard();
        throw e;
      }
      display.done();
      placementLines(display, r, out);
      print(`\n== 01_steady at ${rate}/s -> ${r.file}`);
      print(formatSummary(r.summary));
      print(formatRunVerdict(r.verdict));
      sloFailed(clauses, r.summary);
      return r;
    },
  );
  print(`\n${formatCapacitySteps(answer)}`);
  print(`Capacity: ${answer.text}`);
  const files = answer.steps.map((s) => s.file).filter((f): f is string => f !== undefined);
  if (files.length > 0) {
    const out = resultsPath(insertBeforeExtension(c.out, "_capacity", ".html"), undefined, c.shard);
    const problem = hooks.writeReport
      ? await hooks.writeReport(files, out, c.slo)
      : "no report writer in this entry point";
    print(
      problem === undefined
        ? `Report: ${out}`
        : `Report not written (${problem}); draw it with: smft report ${
          files.join(" ")
        } --slo "${c.slo}"`,
    );
  }
  if (signal.aborted) return EXIT.interrupted;
  return answer.capacity === null ? EXIT.slo : EXIT.ok;
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

/**
 * What an entry point may add. smft never imports the tools; the compiled `./smft` and the tasks
 * (`tools/main.ts`) hand in the report writer so that `--find-capacity` can end with a report.
 */
export interface SmftHooks {
  /** Writes an HTML report of `files` to `out`; resolves to an error line, or undefined. */
  writeReport?: (
    files: string[],
    out: string,
    slo: string | undefined,
  ) => Promise<string | undefined>;
}

async function dispatch(args: string[], hooks: SmftHooks): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case "steady":
      return await steady(rest, hooks);
    case "coldconn":
      return await coldconn(rest);
    case "--version":
    case "version":
      print(`smft ${TOOL_VERSION}`);
      return EXIT.ok;
    case undefined:
    case "-h":
    case "--help":
    case "help":
      print(USAGE);
      return EXIT.ok;
    default:
      throw new ConfigError(`unknown command "${cmd}"; run smft --help`);
  }
}

/** Runs `smft <command> ...` and exits with its code; configuration errors are one line. */
export function smftMain(args: string[], hooks: SmftHooks = {}): Promise<never> {
  return dispatch(args, hooks).then((code) => Deno.exit(code), (e) => {
    if (e instanceof ResultsWriteError) {
      printError(`smft: ${e.message}`);
      Deno.exit(EXIT.writeError);
    }
    if (
      e instanceof ConfigError || e instanceof TlsFileError || e instanceof UnreachableError ||
      e instanceof ResultsPathError || e instanceof ConnectionFailedError
    ) {
      fail(e.message);
    }
    fail(`unexpected error: ${(e as Error).stack ?? e}`);
  });
}
