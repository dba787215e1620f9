/**
 * `deno task bench`: the performance targets, measured on this machine and printed as figures
 * (never asserted: timings on a shared 2-core machine are noisy). df runs as its own process and
 * so does every client, so CPU and memory are each program's own. Where the native reference
 * client (grpc-go, `tools/native/`) can be built, it runs against the same df in the same run,
 * alternating with smft, and the figures are compared side by side.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateCerts } from "../certs/generate.ts";
import { buildNativeClient, buildNativeServer, runNative } from "./native_client.ts";
import { cpuPerCall, formatCpuTable } from "./bench_cpu.ts";
import { stealMeter } from "./steal.ts";
import { runArgs, SMFT, spawnDf } from "./programs.ts";
import { readResults } from "./results.ts";
import { Series, type Stat } from "../smft/histogram.ts";
import type { Summary } from "../smft/summary.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SMFT_RUN = runArgs(SMFT);
const DELAY_MS = 5;

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean" },
    long: { type: "boolean" },
    rates: { type: "string" },
    "cpu-only": { type: "boolean" },
    "no-cpu": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (flags.help) {
  console.log(
    `Usage: deno task bench [--quick] [--long] [--cpu-only | --no-cpu] [--rates 500,1000,2000,5000]

Starts df (DELAY_MS=${DELAY_MS}) and measures, each client as its own process:
  df hold accuracy at 2000 calls/s (df's own handling time minus DELAY_MS);
  smft steady per rate: achieved rate, lag, latency, CPU (cores) and peak RSS;
  smft vs a native grpc-go client, same df, same run, alternating: p50 and p99;
  coldconn: connect p50 (smft vs native) and first-RPC p50 vs DELAY_MS + 1 ms;
  --long: 2000/s for 300 s, peak RSS (target: under 200 MB).
First (skip with --no-cpu, or run alone with --cpu-only): CPU per call, per thread, context
switches and futex calls per call of smft, df, the floor of their stack (tools/floor/) and
native grpc-go peers (tools/native/), interleaved, with ratios.`,
  );
  Deno.exit(0);
}
const quick = flags.quick ?? false;
const seconds = quick ? 4 : 10;
const rates = (flags.rates ?? (quick ? "500,2000" : "500,1000,2000,5000")).split(",").map(Number);

const dir = await Deno.makeTempDir({ prefix: "smft-bench-" });
const certs = (await generateCerts({ out: join(dir, "certs") })).files;
const env = { TLS_CA: certs.caCrt, TLS_CERT: certs.clientCrt, TLS_KEY: certs.clientKey };

// 0. CPU per call, each program with its own peer, before df starts (it would share the cores).
if (!flags["no-cpu"]) {
  const [goClient, goServer] = await Promise.all([buildNativeClient(), buildNativeServer()]);
  if (!goClient.path || !goServer.path) {
    console.log(`== CPU per call: skipped (${goClient.reason ?? goServer.reason})`);
  } else {
    const cpuRates = quick ? [1000] : [1000, 2000];
    const rounds = quick ? 2 : 3;
    const windowS = quick ? 5 : 8;
    console.log(
      `== CPU per call (user+sys over ${windowS} s windows / calls counted by the grpc-go peer; ` +
        `median of ${rounds} interleaved rounds; µs, by thread; DELAY_MS=5, loopback mTLS)`,
    );
    const steal = stealMeter();
    const rows = await cpuPerCall(
      {
        certs: {
          ca: certs.caCrt,
          serverCrt: certs.serverCrt,
          serverKey: certs.serverKey,
          clientCrt: certs.clientCrt,
          clientKey: certs.clientKey,
        },
        goClient: goClient.path,
        goServer: goServer.path,
        dir,
      },
      { rates: cpuRates, rounds, warmupS: 3, windowS, log: (s) => console.error(s) },
    );
    console.log(formatCpuTable(rows));
    console.log(steal());
  }
  if (flags["cpu-only"]) Deno.exit(0);
}

// df, its own process.
const df = await spawnDf({
  ca: certs.caCrt,
  cert: certs.serverCrt,
  key: certs.serverKey,
  delayMs: DELAY_MS,
  stderr: "null",
});
const port = df.port;
const dfPid = df.child.pid;

/** Resident memory of a process, MB (via `ps`: Deno reads /proc only with --allow-all). */
async function rssOf(pid: number): Promise<number | string> {
  try {
    const r = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
    return Math.round(Number(new TextDecoder().decode(r.stdout).trim()) / 1024);
  } catch {
    return "?";
  }
}

interface SmftRun {
  summary: Summary;
  end: Record<string, unknown>;
  file: string;
}

/** A steady run of this bench's length, with one second of warm-up. */
function steadyArgs(rate: number): string[] {
  return ["steady", "--rps", String(rate), "--duration", String(seconds), "--warmup", "1"];
}

async function smft(args: string[], out: string): Promise<SmftRun> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...SMFT_RUN, ...args, "--quiet", "--out", out],
    cwd: ROOT,
    env: { ...env, DF_HOST: "127.0.0.1", TLS_SERVER_NAME: "localhost", DF_PORT: String(port) },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (![0, 3].includes(r.code)) {
    throw new Error(`smft ${args[0]} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  const f = await readResults(out);
  return {
    summary: f.acc.summary(Number(f.end?.elapsed_s) || undefined),
    end: f.end ?? {},
    file: out,
  };
}

const f2 = (v: number | undefined) => v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(2);
const f3 = (v: number | undefined) => v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(3);
function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => i === 0 ? c.padEnd(w[i]) : c.padStart(w[i])).join("  "))
    .join("\n");
}
const log = (s = "") => console.log(s);

log(
  `bench: df on 127.0.0.1:${port} (DELAY_MS=${DELAY_MS}), ${seconds} s per run, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
);
log(`bench: df RSS at start ${await rssOf(dfPid)} MB`);

// 1. Steady per rate, smft alone.
const steadyRows = [[
  "rate/s",
  "achieved/s",
  "off %",
  "lag p50",
  "lag p99",
  "p50 ms",
  "p99 ms",
  "df p50",
  "df p99",
  "cpu cores",
  "rss MB",
  "run",
]];
let hold2000: Stat | undefined;
const steadySteal = stealMeter();
for (const rate of rates) {
  const r = await smft(steadyArgs(rate), join(dir, `steady_${rate}.txt`));
  const s = r.summary;
  const achieved = Number(r.end.achieved_rps);
  const elapsed = Number(r.end.elapsed_s) + 1;
  if (rate === 2000) hold2000 = s.df;
  steadyRows.push([
    String(rate),
    achieved.toFixed(1),
    f2(((achieved - rate) / rate) * 100),
    f3(s.lag?.p50),
    f3(s.lag?.p99),
    f2(s.latency?.p50),
    f2(s.latency?.p99),
    f2(s.df?.p50),
    f2(s.df?.p99),
    f2(Number(r.end.cpu_s) / elapsed),
    String(r.end.rss_max_mb),
    r.end.valid ? "VALID" : "INVALID",
  ]);
}
log(
  "\n== smft steady, alone (targets: achieved within 0.5 %; lag p99 <= 0.5 ms and < 0.5 core at 2000/s)",
);
log(table(steadyRows));
log(steadySteal());

// 2. df's hold accuracy at 2000 calls/s, from its own handling time.
if (!hold2000) {
  const r = await smft(steadyArgs(2000), join(dir, "hold.txt"));
  hold2000 = r.summary.df;
}
log(`\n== df hold at 2000 calls/s (target: p50 within +0.1 ms, p99 within +0.5 ms of DELAY_MS)`);
log(
  `df handling - DELAY_MS: p50 +${f3((hold2000?.p50 ?? NaN) - DELAY_MS)} ms, p99 +${
    f3((hold2000?.p99 ?? NaN) - DELAY_MS)
  } ms, max +${f3((hold2000?.max ?? NaN) - DELAY_MS)} ms`,
);

// 3. smft vs the native client, alternating in the same run.
const native = await buildNativeClient();
const compareRates = quick ? [1000] : [1000, 2000];
if (!native.path) {
  log(`\n== smft vs native client: not run (${native.reason})`);
} else {
  const rows = [[
    "rate/s",
    "client",
    "p50 ms",
    "p99 ms",
    "lag p99",
    "p50 - native",
    "p99 / native",
  ]];
  const steal = stealMeter();
  for (const rate of compareRates) {
    const pooled = { smft: new Series(), native: new Series() };
    const lag = { smft: new Series(), native: new Series() };
    for (let round = 0; round < 2; round++) {
      const n = join(dir, `native_${rate}_${round}.txt`);
      const nr = await runNative(native.path, {
        mode: "steady",
        addr: `127.0.0.1:${port}`,
        ca: certs.caCrt,
        cert: certs.clientCrt,
        key: certs.clientKey,
        rate,
        durationS: seconds,
        warmupS: 1,
        out: n,
      });
      if (nr.code !== 0) throw new Error(`native client failed: ${nr.stderr}`);
      const nf = await readResults(n);
      pooled.native.add(nf.acc.latency);
      lag.native.add(nf.acc.lag);
      const sf = await readResults(
        (await smft(steadyArgs(rate), join(dir, `smft_${rate}_${round}.txt`))).file,
      );
      pooled.smft.add(sf.acc.latency);
      lag.smft.add(sf.acc.lag);
    }
    const n = pooled.native.stat();
    const s = pooled.smft.stat();
    rows.push([String(rate), "grpc-go", f2(n.p50), f2(n.p99), f3(lag.native.stat().p99), "", ""]);
    rows.push([
      String(rate),
      "smft",
      f2(s.p50),
      f2(s.p99),
      f3(lag.smft.stat().p99),
      `+${f2(s.p50 - n.p50)}`,
      `${f2(s.p99 / n.p99)}x`,
    ]);
  }
  log(
    "\n== smft vs native grpc-go client, same df, alternating runs pooled (targets: p50 within +0.3 ms, p99 within 1.5x)",
  );
  log(table(rows));
  log(steal());
}

// 4. Cold connections.
{
  const steal = stealMeter();
  const attempts = quick ? 20 : 50;
  const s =
    (await smft(["coldconn", "--rps", "10", "--attempts", String(attempts)], join(dir, "cold.txt")))
      .summary;
  const rows = [["client", "connect p50", "tls p50", "first RPC p50", "total p50"]];
  rows.push([
    "smft",
    f2(s.phases?.connect?.p50),
    f2(s.phases?.tls?.p50),
    f2(s.phases?.first_rpc?.p50),
    f2(s.phases?.total?.p50),
  ]);
  let ratio = "";
  if (native.path) {
    const n = join(dir, "native_cold.txt");
    await runNative(native.path, {
      mode: "coldconn",
      addr: `127.0.0.1:${port}`,
      ca: certs.caCrt,
      cert: certs.clientCrt,
      key: certs.clientKey,
      rate: 10,
      attempts,
      out: n,
    });
    const ns = (await readResults(n)).acc.summary();
    rows.push([
      "grpc-go",
      f2(ns.phases?.connect?.p50),
      f2(ns.phases?.tls?.p50),
      f2(ns.phases?.first_rpc?.p50),
      f2(ns.phases?.total?.p50),
    ]);
    ratio = `; smft connect p50 = ${
      f2((s.phases?.connect?.p50 ?? NaN) / (ns.phases?.connect?.p50 ?? NaN))
    }x native`;
  }
  log(
    `\n== coldconn, ${attempts} attempts at 10/s (targets: connect p50 within 1.5x native; first RPC p50 <= ${
      DELAY_MS + 1
    } ms)`,
  );
  log(table(rows));
  log(`first RPC p50 - DELAY_MS = ${f2((s.phases?.first_rpc?.p50 ?? NaN) - DELAY_MS)} ms${ratio}`);
  log(steal());
}

// 5. Memory over a long run.
if (flags.long) {
  const r = await smft(
    ["steady", "--rps", "2000", "--duration", "300", "--warmup", "5"],
    join(dir, "long.txt"),
  );
  log(
    `\n== 2000/s for 300 s: smft peak RSS ${r.end.rss_max_mb} MB (target < 200 MB), achieved ${r.end.achieved_rps}/s, lag p99 ${
      f3(r.summary.lag?.p99)
    } ms`,
  );
}

log(`\nbench: df RSS at end ${await rssOf(dfPid)} MB`);
await df.stop();
await Deno.remove(dir, { recursive: true });
