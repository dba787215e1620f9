import assert from "node:assert/strict";
import { resolveColdconn, resolveSteady, type SteadyConfig } from "./settings.ts";
import { resultsPath } from "./results_path.ts";
import { helpText } from "./help_text.ts";
import { RUN_RULES } from "./verdict.ts";
import { ConfigError } from "./shared/layered_config.ts";

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
  const { hostName } = await import("./option_parsers.ts");
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

Deno.test("steady --help describes the verdict that is applied: every rule of RUN_RULES, by value", () => {
  const flat = helpText("steady").replace(/\s+/g, " ");
  assert.ok(flat.includes(`more than ${RUN_RULES.rateTolerance * 100} % off`), flat);
  assert.ok(flat.includes(`move the p50 by over ${RUN_RULES.ownP50MaxMs} ms`), flat);
  assert.ok(
    flat.includes(
      `the p99 by over ${
        RUN_RULES.ownP99MaxShare * 100
      } % of it (${RUN_RULES.ownP99FloorMs} ms at least;`,
    ),
    flat,
  );
  assert.ok(flat.includes("never the server or the link"), flat);
  assert.ok(flat.includes(`judged on ${RUN_RULES.minCallsForLag} measured calls or more`), flat);
  assert.ok(flat.includes("none of whose calls got through exits 1"), flat);
  // coldconn says what first_rpc is, and that its first attempts are a warm-up.
  const cold = helpText("coldconn").replace(/\s+/g, " ");
  assert.ok(cold.includes("t_first_rpc_ms (ready to response: the call's own time)"), cold);
  assert.ok(cold.includes("--warmup-attempts <n>"), cold);
});

Deno.test("options: --arrival and --seed; poisson shards must share a seed", () => {
  const constant = steady([], env);
  assert.equal(constant.arrival, "constant");
  assert.equal(constant.seed, undefined);
  const seeded = steady(["--arrival", "poisson", "--seed", "42"], env);
  assert.equal(seeded.seed, 42);
  assert.equal(steady([], { ...env, ARRIVAL: "poisson", SEED: "7" }).seed, 7);
  // No seed on one host: a random one, recorded so the run can be replayed.
  const random = steady(["--arrival", "poisson"], env);
  assert.ok(Number.isInteger(random.seed) && random.seed! >= 0 && random.seed! < 2 ** 32);
  assert.throws(
    () => resolveSteady(["--arrival", "poisson", "--shard", "1/2"], env),
    (e) => e instanceof ConfigError && /--shard 1\/2 needs --seed \(SEED\)/.test(e.message),
  );
  assert.throws(
    () => resolveSteady(["--arrival", "uniform"], env),
    (e) => e instanceof ConfigError && /expected one of constant, poisson/.test(e.message),
  );
});

Deno.test("options: --call, its schema and request; repeatable --proto and --metadata", () => {
  const c = steady([
    "--call",
    "a.B/C",
    "--proto",
    "x.proto",
    "--proto",
    "y.proto",
    "--data",
    '{"k":1}',
    "--metadata",
    "authorization: Bearer t",
    "--metadata",
    "trace-bin: AAE=",
  ], env);
  assert.deepEqual(c.method?.proto, ["x.proto", "y.proto"]);
  assert.equal(c.method?.json, '{"k":1}');
  assert.deepEqual(c.metadata, [["authorization", "Bearer t"], ["trace-bin", "AAE="]]);
  // From the environment: comma-separated files, one metadata entry a line.
  const e = steady([], {
    ...env,
    GRPC_CALL: "a.B/C",
    GRPC_PROTO: "x.proto,y.proto",
    GRPC_METADATA: "a: 1\nb: 2",
  });
  assert.deepEqual(e.method?.proto, ["x.proto", "y.proto"]);
  assert.deepEqual(e.metadata, [["a", "1"], ["b", "2"]]);
  const refused: [string[], RegExp][] = [
    [["--proto", "x.proto"], /--proto needs --call package\.Service\/Method/],
    [["--data", "{}"], /--data needs --call/],
    [["--call", "a.B/C"], /needs its schema: --proto FILE/],
    [["--call", "a.B/C", "--reflect", "--proto", "x"], /--proto and --reflect both given/],
    [["--call", "nope"], /expected package\.Service\/Method/],
    [["--metadata", "trace-bin: not base64!"], /a -bin key takes its value in base64/],
    [["--metadata", "grpc-timeout: 1"], /reserved by gRPC/],
    [["--metadata", "content-type: text/plain"], /a header gRPC sets itself/],
  ];
  for (const [args, re] of refused) {
    assert.throws(
      () => resolveSteady(args, env),
      (e) => e instanceof ConfigError && re.test(e.message),
    );
  }
});

Deno.test("options: --payload (GetScore's request) with --call is refused; its variable is not", () => {
  assert.throws(
    () => resolveSteady(["--call", "a.B/C", "--reflect", "--payload", "{}"], env),
    (e) =>
      e instanceof ConfigError && /--payload is df's GetScore request; with --call/.test(e.message),
  );
  const c = steady(["--call", "a.B/C", "--reflect"], { ...env, PAYLOAD: "{}" });
  assert.equal(c.method?.call, "a.B/C");
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

Deno.test("options: --find-capacity refuses a --capacity-max below the rate it starts from, in one line", () => {
  assert.throws(
    () =>
      steady(
        ["--find-capacity", "--slo", "p99<20ms", "--rps", "500", "--capacity-max", "400"],
        env,
      ),
    (e) =>
      e instanceof ConfigError &&
      /^--capacity-max 400 is below the rate the search starts from \(--rps 500\)/.test(e.message),
  );
  assert.equal(
    steady(["--find-capacity", "--slo", "p99<20ms", "--rps", "400", "--capacity-max", "400"], env)
      .capacity?.maxRate,
    400,
  );
});
