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
import { runSteady } from "../smft/steady.ts";
import { runColdconn } from "../smft/coldconn.ts";
import { defaultPayload } from "../smft/options.ts";
import { formatRunVerdict, noneThroughVerdict, type RunVerdict } from "../smft/verdict.ts";
import { formatProgress, stderrProgress } from "../smft/progress.ts";
import type { Target } from "../smft/channel.ts";
import { formatSummary } from "../smft/summary.ts";
import { reportCommand } from "./report/command.ts";
import { spawnDf } from "./programs.ts";

const STEADY = { rate: 1000, durationS: 5, warmupS: 3 };
const COLD = { rate: 5, attempts: 20 };

const USAGE = `Usage: deno task demo

Everything on built-in defaults, on this machine: makes test certificates in certs/ when missing,
starts df on a free port, runs steady at ${STEADY.rate}/s for ${STEADY.durationS} s after ${STEADY.warmupS} s of warm-up
and coldconn ${COLD.attempts} attempts at ${COLD.rate}/s, prints both summaries and verdicts, writes
results/report.html, and stops df. Earlier results files are moved aside, never overwritten.
It takes no options.

Exit status: 0 done (whatever the verdicts say), 1 df could not start or the report could not be
written.`;

/** A run's verdict line, as smft prints it: a run none of whose calls got through says so. */
function verdictLine(v: RunVerdict): string {
  return (v.interrupted ? undefined : noneThroughVerdict(v.reasons)) ?? formatRunVerdict(v);
}

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
    `\ndemo: steady ${STEADY.rate}/s for ${STEADY.durationS} s after ${STEADY.warmupS} s of warm-up, one channel`,
  );
  const steady = await runSteady({
    target,
    ...STEADY,
    deadlineMs: 1000,
    connectTimeoutMs: 5000,
    payload: defaultPayload(),
    out: "results/01_steady_results.txt",
    shard,
    onProgress: (p) => display.update(formatProgress(p)),
  });
  display.done();
  console.log(`== 01_steady -> ${steady.file}`);
  console.log(formatSummary(steady.summary));
  console.log(verdictLine(steady.verdict));

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
  console.log(verdictLine(cold.verdict));

  const report = await reportCommand([steady.file, cold.file, "--out", "results/report.html"]);
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
