import assert from "node:assert/strict";
import { resolveColdconn, resolveSteady, resultsPath, type SteadyConfig } from "./options.ts";
import { ConfigError } from "./shared/config.ts";

const env = { TLS_MODE: "mtls" };

/** `resolveSteady` for a call that is not `--help`. */
function steady(args: string[], e: Record<string, string>, now?: number): SteadyConfig {
  const r = resolveSteady(args, e, now);
  if (r.help) throw new Error("unexpected --help");
  return r.config;
}

Deno.test("options: flags beat the environment, which beats defaults", () => {
  const config = steady(["--rps", "250"], { ...env, N_RPS: "100", T_DURATION_SEC: "7" });
  assert.deepEqual(config.rates, [250]);
  assert.equal(config.durationS, 7);
  assert.equal(config.warmupS, 30);
  assert.equal(config.serverName, "localhost");
});

Deno.test("options: a Kubernetes Indexed Job's index and SHARD_COUNT name the shard", () => {
  const config = steady([], { ...env, JOB_COMPLETION_INDEX: "2", SHARD_COUNT: "4" });
  assert.deepEqual(config.shard, { index: 3, count: 4 });
  const explicit = steady(["--shard", "1/2"], {
    JOB_COMPLETION_INDEX: "2",
    SHARD_COUNT: "4",
  });
  assert.deepEqual(explicit.shard, { index: 1, count: 2 });
  assert.throws(
    () => resolveSteady([], { JOB_COMPLETION_INDEX: "4", SHARD_COUNT: "4" }),
    (e) => e instanceof ConfigError && /expected 0 <= index < count/.test(e.message),
  );
});

Deno.test("options: --start-at takes epoch ms or ISO time, and refuses the past", () => {
  const now = Date.parse("2026-11-25T10:00:00Z");
  const iso = steady(["--start-at", "2026-11-25T10:01:00Z"], env, now);
  assert.equal(iso.startAt, now + 60_000);
  const ms = steady(["--start-at", String(now + 5000)], env, now);
  assert.equal(ms.startAt, now + 5000);
  assert.throws(() => resolveSteady(["--start-at", String(now - 1)], env, now), /already past/);
});

Deno.test("options: results files are named per rate and per shard", () => {
  const one = { index: 1, count: 1 };
  assert.equal(
    resultsPath("results/01_steady_results.txt", undefined, one),
    "results/01_steady_results.txt",
  );
  assert.equal(
    resultsPath("results/01_steady_results.txt", 1000, one),
    "results/01_steady_results_1000rps.txt",
  );
  assert.equal(
    resultsPath("r/x.txt", 500, { index: 2, count: 3 }),
    "r/x_500rps_shard2of3.txt",
  );
  assert.equal(resultsPath("noext", undefined, { index: 1, count: 2 }), "noext_shard1of2");
});

Deno.test("hostName() takes a name or an address and explains a URL, a host:port or junk", async () => {
  const { hostName } = await import("./option_table.ts");
  assert.equal(hostName("df.example"), "df.example");
  assert.equal(hostName("10.0.0.5"), "10.0.0.5");
  assert.equal(hostName("::1"), "::1");
  assert.equal(hostName("[::1]"), "::1");
  assert.throws(
    () => hostName("127.0.0.1:41101"),
    /without a port: .*DF_HOST=127\.0\.0\.1 DF_PORT=41101/,
  );
  assert.throws(() => hostName("https://df.example"), /not a URL: drop "https:\/\/"/);
  assert.throws(() => hostName("df example"), /expected a host name/);
  assert.throws(() => hostName(""), /not an empty string/);
});

Deno.test("checkPlan() refuses a plan that cannot fit one process, naming the limit", async () => {
  const { checkPlan } = await import("./plan_limits.ts");
  assert.throws(() => checkPlan("steady", 1_000_000, 1000, "N_RPS"), /limit of 20000\/s per host/);
  assert.throws(
    () => checkPlan("steady", 10_000, 10_000, "--rps"),
    /100000 calls in flight, above smft's limit of 50000/,
  );
  checkPlan("steady", 5000, 1000, "--rps");
  assert.throws(() => checkPlan("coldconn", 100, 20_000, "COLD_RPS"), /2000 attempts in flight/);
});

Deno.test("options: --connections / N_CONNECTIONS, 1 by default (the seed's one channel); steady only", () => {
  assert.equal(steady([], env).connections, 1);
  assert.equal(steady([], { ...env, N_CONNECTIONS: "3" }).connections, 3);
  assert.equal(steady(["--connections", "2"], { ...env, N_CONNECTIONS: "3" }).connections, 2);
  assert.throws(
    () => resolveSteady(["--connections", "0"], env),
    (e) =>
      e instanceof ConfigError &&
      /--connections="0": expected an integer from 1 to 64/.test(e.message),
  );
  assert.throws(
    () => resolveColdconn(["--connections", "2"], env),
    (e) => e instanceof ConfigError && /--connections is a steady option/.test(e.message),
  );
});

Deno.test("options: --start-at refuses what only Date.parse would read as a time (-1, 1e12)", () => {
  for (const raw of ["-1", "1e12", "Dec 7 2026"]) {
    assert.throws(
      () => resolveSteady([`--start-at=${raw}`], env, Date.UTC(2026, 0, 1)),
      /--start-at=.*expected epoch milliseconds or an ISO time/,
      raw,
    );
  }
});
