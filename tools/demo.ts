/**
 * `deno task demo`: the whole product on built-in defaults, on this machine. Makes test
 * certificates if missing, starts df (its own process, so it does not share smft's event
 * loop), runs a short steady test and a short coldconn test against it, writes an HTML report,
 * and stops df.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { generateCerts } from "../certs/generate.ts";
import { withNearestFlag } from "../smft/shared/config.ts";
import { loadTls } from "../certs/tls.ts";
import { runSteady, type SteadyResult } from "../smft/steady.ts";
import { ladderTable } from "../smft/cli.ts";
import { runColdconn } from "../smft/coldconn.ts";
import { defaultPayload, resultsPath } from "../smft/options.ts";
import { formatRunVerdict } from "../smft/verdict.ts";
import { fairUpTo } from "./fair_rate.ts";
import { formatProgress, stderrProgress } from "../smft/progress.ts";
import type { Target } from "../smft/channel.ts";
import { formatSummary } from "../smft/summary.ts";
import { reportCommand } from "./report/command.ts";
import { spawnDf } from "./programs.ts";

const LADDER = [100, 200, 500, 1000];
const STEADY = { durationS: 3, warmupS: 2 };
const COLD = { rate: 5, attempts: 20 };

const USAGE = `Usage: deno task demo

Everything on built-in defaults, on this machine: makes test certificates in certs/ when missing,
starts df on a free port, runs steady at ${
  LADDER.join(", ")
}/s (${STEADY.durationS} s each after ${STEADY.warmupS} s of warm-up)
and coldconn ${COLD.attempts} attempts at ${COLD.rate}/s, prints each summary and verdict, a table of
the ladder and where this host stops being a fair load generator, writes
results/report.html, and stops df. Earlier results files are moved aside, never overwritten.
It takes no options.

Exit status: 0 done (whatever the verdicts say), 1 df could not start or the report could not be
written.`;

// --help answers and changes nothing: it is read before any certificate, process or file.
try {
  const { values } = parseArgs({
    args: Deno.args,
    options: { help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
} catch (e) {
  console.error(`demo: ${withNearestFlag((e as Error).message, ["help"])}; it takes no options`);
  Deno.exit(1);
}

const certs = await generateCerts({ out: "certs" });
console.log(
  certs.written
    ? "demo: made test certificates in certs/"
    : "demo: using the certificates in certs/",
);
const f = certs.files;

const df = await spawnDf({
  ca: f.caCrt,
  cert: f.serverCrt,
  key: f.serverKey,
  delayMs: 5,
  stderr: "inherit",
}).catch((e) => {
  console.error(`demo: ${(e as Error).message}`);
  Deno.exit(1);
});
const port = df.port;
console.log(`demo: ${df.startLine}`);

let code = 0;
try {
  const target: Target = {
    host: "localhost",
    port,
    serverName: "localhost",
    tlsMode: "mtls",
    tls: loadTls("mtls", { ca: f.caCrt, cert: f.clientCrt, key: f.clientKey }, "client"),
  };
  const display = stderrProgress(false);
  const shard = { index: 1, count: 1 };

  console.log(
    `\ndemo: steady at ${
      LADDER.join(", ")
    }/s, ${STEADY.durationS} s each after ${STEADY.warmupS} s of warm-up, one channel`,
  );
  const ladder: SteadyResult[] = [];
  for (const rate of LADDER) {
    const steady = await runSteady({
      target,
      rate,
      ...STEADY,
      deadlineMs: 1000,
      connectTimeoutMs: 5000,
      payload: defaultPayload(),
      out: resultsPath("results/01_steady_results.txt", rate, shard),
      shard,
      onProgress: (p) => display.update(formatProgress(p)),
    });
    display.done();
    ladder.push(steady);
    console.log(`\n== 01_steady at ${rate}/s -> ${steady.file}`);
    console.log(formatSummary(steady.summary));
    console.log(formatRunVerdict(steady.verdict));
  }
  console.log(`\n${ladderTable(ladder)}`);
  console.log(`demo: ${
    fairUpTo(ladder.map((r) => ({
      rate: r.meta.rate,
      valid: r.verdict.valid,
      reasons: r.verdict.reasons,
    })))
  }`);

  console.log(
    `\ndemo: coldconn ${COLD.attempts} attempts at ${COLD.rate}/s, a new TLS channel each`,
  );
  const cold = await runColdconn({
    target,
    ...COLD,
    durationS: COLD.attempts / COLD.rate,
    deadlineMs: 2000,
    out: "results/02_coldconn_results.txt",
    shard,
    onProgress: (p) => display.update(formatProgress(p)),
  });
  display.done();
  console.log(`== 02_coldconn -> ${cold.file}`);
  console.log(formatSummary(cold.summary));
  console.log(formatRunVerdict(cold.verdict));

  const report = await reportCommand([
    ...ladder.map((r) => r.file),
    cold.file,
    "--out",
    "results/report.html",
  ]);
  if (report.stderr) console.error(report.stderr);
  console.log(
    `\ndemo: report written to ${report.stdout.trim().replace(/^.*?(\S+\.html).*$/s, "$1")}`,
  );
  code = report.code === 1 ? 1 : 0;
} finally {
  const totals = (await df.stop()).split("\n").find((l) => l.startsWith("df stopped"));
  if (totals) console.log(`demo: ${totals}`);
}
Deno.exit(code);
