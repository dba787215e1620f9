/**
 * `deno task demo`: the whole product on built-in defaults, on this machine. Makes test
 * certificates if missing, starts df (its own process, so it does not share smft's event
 * loop), runs a short steady ladder and a short coldconn test against it through smft's one
 * entry (`tools/main.ts`, so they print what `deno task steady` and `coldconn` print), says where
 * this host stops being a fair load generator, writes an HTML report, and stops df.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { generateCerts } from "../certs/generate.ts";
import { SUITE_ENV_KEYS, withNearestFlag } from "../smft/shared/layered_config.ts";
import { resultsPath } from "../smft/results_path.ts";
import { fairUpTo } from "./fair_rate.ts";
import { readResults, verdictOf } from "./results.ts";
import { reportCommand } from "./report/command.ts";
import { runArgs, SMFT, spawnDf } from "./programs.ts";

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

Exit status: 0 done (whatever the verdicts say), 1 df could not start, smft could not complete a
run, or the report could not be written.`;

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

/**
 * `smft <args>` as its own process through the one entry, as the tasks run it, and its exit
 * code. Only the demo's flags count: smft's variables are left out of its environment, and its
 * `.env` files are replaced by an empty one, so that the demo runs on built-in defaults.
 */
async function smft(
  command: "steady" | "coldconn",
  args: string[],
  envFile: string,
): Promise<number> {
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !SUITE_ENV_KEYS.includes(k)),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      // SMFT's run flags, with this folder's entry in place of its relative path.
      ...runArgs(SMFT).slice(0, -1),
      fileURLToPath(new URL("main.ts", import.meta.url)),
      command,
      "--env-file",
      envFile,
      ...args,
    ],
    clearEnv: true,
    env,
    stdin: "null",
  }).spawn();
  return (await child.status).code;
}

/** Exit codes of a run that ended and wrote its file: done, SLO failed, INVALID, both. */
const RAN = new Set([0, 2, 3, 5]);

let code = 0;
const emptyEnvFile = await Deno.makeTempFile({ prefix: "demo-env-" });
try {
  const common = [
    "--host",
    "localhost",
    "--port",
    String(port),
    "--tls-mode",
    "mtls",
    "--ca",
    f.caCrt,
    "--cert",
    f.clientCrt,
    "--key",
    f.clientKey,
  ];
  const shard = { index: 1, count: 1 };

  console.log(
    `\ndemo: steady at ${
      LADDER.join(", ")
    }/s, ${STEADY.durationS} s each after ${STEADY.warmupS} s of warm-up, one channel`,
  );
  const steadyOut = "results/01_steady_results.txt";
  const steady = await smft("steady", [
    ...common,
    "--rps",
    LADDER.join(","),
    "--duration",
    String(STEADY.durationS),
    "--warmup",
    String(STEADY.warmupS),
    "--deadline-ms",
    "1000",
    "--connect-timeout-ms",
    "5000",
    "--out",
    steadyOut,
  ], emptyEnvFile);
  if (!RAN.has(steady)) throw new Error(`smft steady exited ${steady}`);
  const ladder = LADDER.map((rate) => resultsPath(steadyOut, rate, shard));
  const rungs = [];
  for (const [k, file] of ladder.entries()) {
    const v = verdictOf(await readResults(file));
    rungs.push({ rate: LADDER[k], valid: v.valid === true, reasons: v.reasons });
  }
  console.log(`demo: ${fairUpTo(rungs)}`);

  console.log(
    `\ndemo: coldconn ${COLD.attempts} attempts at ${COLD.rate}/s, a new TLS channel each`,
  );
  const coldOut = "results/02_coldconn_results.txt";
  const cold = await smft("coldconn", [
    ...common,
    "--rps",
    String(COLD.rate),
    "--attempts",
    String(COLD.attempts),
    "--deadline-ms",
    "2000",
    "--out",
    coldOut,
  ], emptyEnvFile);
  if (!RAN.has(cold)) throw new Error(`smft coldconn exited ${cold}`);

  const report = await reportCommand([...ladder, coldOut, "--out", "results/report.html"]);
  if (report.stderr) console.error(report.stderr);
  console.log(
    `\ndemo: report written to ${report.stdout.trim().replace(/^.*?(\S+\.html).*$/s, "$1")}`,
  );
  code = report.code === 1 ? 1 : 0;
} catch (e) {
  console.error(`demo: ${(e as Error).message}`);
  code = 1;
} finally {
  await Deno.remove(emptyEnvFile);
  const totals = (await df.stop()).split("\n").find((l) => l.startsWith("df stopped"));
  if (totals) console.log(`demo: ${totals}`);
}
Deno.exit(code);
