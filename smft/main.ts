/**
 * smft's entry point (the compiled `./smft`): `steady`, `coldconn`, and the tools
 * (`summarize`, `report`, `compare`) so that a load host needs one binary. The only place smft
 * reads arguments and the environment, and prints.
 *
 * @module
 */
import { ConfigError } from "./config.ts";
import { loadTls } from "../certs/tls.ts";
import { helpText, resolveSteady, resultsPath, type SteadyConfig } from "./options.ts";
import { formatRunVerdict, runSteady, type SteadyResult, UnreachableError } from "./steady.ts";
import { formatProgress, logLine, stderrProgress } from "./progress.ts";
import { formatSummary } from "../tools/summary.ts";
import { TOOL_VERSION, versionLine } from "./version.ts";

const USAGE = `smft: gRPC latency load generator for df (TLS 1.3 + mutual TLS)

Usage: smft <command> [options]

Commands:
  steady      a fixed request rate over one reused channel        (deno task steady)
  coldconn    a new TLS channel per attempt, timed phase by phase (deno task coldconn)
  summarize   summarise results files (several load hosts merged) (deno task summarize)
  report      write an HTML report of results files               (deno task report)
  compare     compare two runs with confidence intervals          (deno task compare)

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

async function steady(args: string[]): Promise<number> {
  const { help, config } = resolveSteady(args, Deno.env.toObject());
  if (help) {
    console.log(helpText("steady"));
    return EXIT.ok;
  }
  const c: SteadyConfig = config;
  const material = loadTls(c.tlsMode, { ca: c.ca, cert: c.cert, key: c.key }, "client");
  const display = stderrProgress(c.quiet);
  for (const w of material.warnings) logLine(display, `smft: WARNING: ${w}`);
  if (c.tlsMode === "insecure") {
    logLine(display, "smft: WARNING: TLS_MODE=insecure: plaintext, no authentication; debugging only");
  }
  const signal = interruptSignal();
  const results: SteadyResult[] = [];
  const ladder = c.rates.length > 1;
  let code: number = EXIT.ok;
  const { judgeSlo, parseSlo, formatVerdicts } = await import("../tools/slo.ts");
  const clauses = c.slo ? parseSlo(c.slo) : [];
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
      target: {
        host: c.host,
        port: c.port,
        serverName: c.serverName,
        tlsMode: c.tlsMode,
        tls: material,
      },
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
      onProgress: (p) => display.update(formatProgress(p, ladder ? `[${rate}/s] ` : "")),
    });
    display.done();
    results.push(r);
    const tls = r.meta.tls as { version?: string; cipher?: string } | null;
    console.log(`\n== 01_steady at ${rate}/s -> ${r.file}`);
    if (tls) console.log(`TLS: ${tls.version} ${tls.cipher}`);
    console.log(formatSummary(r.summary));
    console.log(formatRunVerdict(r.verdict));
    if (clauses.length) {
      const verdicts = judgeSlo(r.summary, clauses);
      console.log(formatVerdicts(verdicts));
      if (verdicts.some((v) => !v.pass)) code = Math.max(code, EXIT.slo);
    }
    if (!r.verdict.valid) code = Math.max(code, EXIT.invalid);
    if (r.interrupted) code = EXIT.interrupted;
  }
  if (ladder && results.length > 1) console.log("\n" + ladderTable(results));
  return code;
}

function ladderTable(results: SteadyResult[]): string {
  const rows = [["rate/s", "achieved/s", "ok %", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "lag p99", "run"]];
  for (const r of results) {
    const l = r.summary.latency;
    rows.push([
      String(r.meta.rate),
      r.verdict.achievedRate.toFixed(1),
      r.summary.successPct.toFixed(2),
      ...(l ? [l.p50, l.p90, l.p99, l.p999, l.max].map((v) => v.toFixed(2)) : ["-", "-", "-", "-", "-"]),
      r.verdict.lagP99.toFixed(3),
      r.verdict.valid ? "VALID" : "INVALID",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i])).join("  ")).join("\n");
}

async function main(): Promise<number> {
  const [cmd, ...rest] = Deno.args;
  switch (cmd) {
    case "steady":
      return await steady(rest);
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

main().then((code) => Deno.exit(code), (e) => {
  if (e instanceof ConfigError || e instanceof UnreachableError) fail(e.message);
  fail(`unexpected error: ${(e as Error).stack ?? e}`);
});
