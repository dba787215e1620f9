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
import type { Target } from "./channel.ts";
import { formatVerdicts, judgeSlo, parseSlo, type SloClause } from "./slo.ts";
import { runSteady, type SteadyResult, UnreachableError } from "./steady.ts";
import { formatRunVerdict } from "./verdict.ts";
import { formatProgress, logLine, stderrProgress } from "./progress.ts";
import { formatSummary } from "./summary.ts";
import { TOOL_VERSION, versionLine } from "./shared/version.ts";

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

/** Exit codes, most serious first. */
const EXIT = { ok: 0, config: 1, slo: 2, invalid: 3, interrupted: 130 } as const;

function fail(message: string): never {
  console.error(`smft: ${message}`);
  Deno.exit(EXIT.config);
}

function interruptSignal(): AbortSignal {
  const ctl = new AbortController();
  const onSignal = () => ctl.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  return ctl.signal;
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
  for (const w of material.warnings) logLine(display, `smft: WARNING: ${w}`);
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
  return { clauses, display, target, signal: interruptSignal() };
}

/** The line that says measurement has begun: scripts and tests wait for it, not for time. */
function measuringLine(rate: number, durationS: number): string {
  return `smft: measuring at ${rate}/s for ${durationS} s (warm-up over)`;
}

/** Prints SLO verdicts; returns the exit code they call for. */
function sloCode(clauses: SloClause[], summary: Parameters<typeof judgeSlo>[0]): number {
  if (!clauses.length) return EXIT.ok;
  const verdicts = judgeSlo(summary, clauses);
  console.log(formatVerdicts(verdicts));
  return verdicts.some((v) => !v.pass) ? EXIT.slo : EXIT.ok;
}

async function steady(args: string[]): Promise<number> {
  const r = resolveSteady(args, Deno.env.toObject());
  if (r.help) {
    console.log(helpText("steady"));
    return EXIT.ok;
  }
  const c: SteadyConfig = r.config;
  const { clauses, display, target, signal } = prepare(c);
  const results: SteadyResult[] = [];
  const ladder = c.rates.length > 1;
  let code: number = EXIT.ok;
  logLine(
    display,
    `smft steady -> ${c.host}:${c.port} (${c.tlsMode}, verify ${c.serverName}) rate ${
      c.rates.join(",")
    }/s shard ${c.shard.index}/${c.shard.count} warm-up ${c.warmupS} s, measure ${c.durationS} s; ${
      versionLine("smft")
    }`,
  );
  for (const rate of c.rates) {
    if (signal.aborted) break;
    const out = resultsPath(c.out, ladder ? rate : undefined, c.shard);
    const r = await runSteady({
      target,
      rate,
      durationS: c.durationS,
      warmupS: c.warmupS,
      deadlineMs: c.deadlineMs,
      connectTimeoutMs: c.connectTimeoutMs,
      payload: c.payload,
      out,
      shard: c.shard,
      startAt: c.startAt,
      signal,
      onMeasureStart: () => logLine(display, measuringLine(rate, c.durationS)),
      onProgress: (p) => display.update(formatProgress(p, ladder ? `[${rate}/s] ` : "")),
    });
    display.done();
    results.push(r);
    const tls = r.meta.tls;
    console.log(`\n== 01_steady at ${rate}/s -> ${r.file}`);
    if (tls) console.log(`TLS: ${tls.version} ${tls.cipher}`);
    console.log(formatSummary(r.summary));
    console.log(formatRunVerdict(r.verdict));
    code = Math.max(code, sloCode(clauses, r.summary));
    if (!r.verdict.valid) code = Math.max(code, EXIT.invalid);
    if (r.interrupted) code = EXIT.interrupted;
  }
  if (ladder && results.length > 1) console.log("\n" + ladderTable(results));
  return code;
}

async function coldconn(args: string[]): Promise<number> {
  const resolved = resolveColdconn(args, Deno.env.toObject());
  if (resolved.help) {
    console.log(helpText("coldconn"));
    return EXIT.ok;
  }
  const c: ColdConfig = resolved.config;
  const { clauses, display, target, signal } = prepare(c);
  const out = resultsPath(c.out, undefined, c.shard);
  logLine(
    display,
    `smft coldconn -> ${c.host}:${c.port} (${c.tlsMode}, verify ${c.serverName}) ${c.rate} attempts/s ${
      c.attempts !== undefined ? `x ${c.attempts}` : `for ${c.durationS} s`
    }; a new channel and a full TLS handshake per attempt; ${versionLine("smft")}`,
  );
  const r = await runColdconn({
    target,
    rate: c.rate,
    durationS: c.durationS,
    attempts: c.attempts,
    deadlineMs: c.deadlineMs,
    out,
    shard: c.shard,
    startAt: c.startAt,
    signal,
    onMeasureStart: () => logLine(display, measuringLine(c.rate, c.durationS)),
    onProgress: (p) => display.update(formatProgress(p)),
  });
  display.done();
  console.log(`\n== 02_coldconn -> ${r.file}`);
  console.log(formatSummary(r.summary));
  if (r.maxOverlap > 1) console.log(`Overlapping attempts: up to ${r.maxOverlap} at once`);
  console.log(formatRunVerdict(r.verdict));
  let code = sloCode(clauses, r.summary);
  if (!r.verdict.valid) code = Math.max(code, EXIT.invalid);
  if (r.interrupted) code = EXIT.interrupted;
  return code;
}

function ladderTable(results: SteadyResult[]): string {
  const rows = [[
    "rate/s",
    "achieved/s",
    "ok %",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "lag p99",
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
      r.verdict.lagP99.toFixed(3),
      r.verdict.valid ? "VALID" : "INVALID",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i])).join("  ")).join("\n");
}

async function dispatch(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case "steady":
      return await steady(rest);
    case "coldconn":
      return await coldconn(rest);
    case "--version":
    case "version":
      console.log(`smft ${TOOL_VERSION}`);
      return EXIT.ok;
    case undefined:
    case "-h":
    case "--help":
    case "help":
      console.log(USAGE);
      return EXIT.ok;
    default:
      throw new ConfigError(`unknown command "${cmd}"; run smft --help`);
  }
}

/** Runs `smft <command> ...` and exits with its code; configuration errors are one line. */
export function smftMain(args: string[]): Promise<never> {
  return dispatch(args).then((code) => Deno.exit(code), (e) => {
    if (e instanceof ConfigError || e instanceof TlsFileError || e instanceof UnreachableError) {
      fail(e.message);
    }
    fail(`unexpected error: ${(e as Error).stack ?? e}`);
  });
}
