/**
 * smft's option tables for `steady` and `coldconn` (flags, variables, defaults, parsers, help),
 * with the seed's variable names; `settings.ts` resolves them, `help_text.ts` shows them.
 *
 * @module
 */
import { int, num, oneOf, type OptionDef, text, TLS_MODE_OPTION } from "./shared/layered_config.ts";
import { DEFAULT_PACING, PACING_MODES, type PacingMode } from "./shared/pacer.ts";
import { type Arrival, ARRIVALS } from "./schedule.ts";
import { hostName, jsonText, rates, type Shard, shard, startAt } from "./option_parsers.ts";

/** Which test. */
export type Command = "steady" | "coldconn";

/** An option definition, typed by its value (the table's types come from these). */
function opt<T>(def: OptionDef<T>): OptionDef<T> {
  return def;
}

/** The options both tests take. */
export function commonOptions(cmd: Command) {
  const steady = cmd === "steady";
  return {
    host: opt<string>({
      flag: "host",
      env: "DF_HOST",
      default: "localhost",
      parse: hostName,
      meta: "<host>",
      help: "df's host",
    }),
    port: opt<number>({
      flag: "port",
      env: "DF_PORT",
      default: 50051,
      parse: int(1, 65535),
      meta: "<port>",
      help: "df's port",
    }),
    // coldconn has its own variable: N_RPS is steady's rate (the seed's .env sets N_RPS=500
    // "for 01_steady only"), and 500 handshakes a second is not a cold-connection test.
    rps: opt<number[]>({
      flag: "rps",
      env: steady ? "N_RPS" : "COLD_RPS",
      default: [steady ? 500 : 1],
      parse: rates,
      meta: steady ? "<n[,n...]>" : "<n>",
      help: steady
        ? "requests per second; a list runs each rate in turn"
        : "attempts per second (N_RPS, steady's rate, is ignored)",
    }),
    duration: opt<number>({
      flag: "duration",
      env: "T_DURATION_SEC",
      default: 300,
      parse: num(0.001, 604_800),
      meta: "<s>",
      help: "measurement length in seconds",
    }),
    deadlineMs: opt<number>({
      flag: "deadline-ms",
      env: "DEADLINE_MS",
      default: 1000,
      parse: num(1, 3_600_000),
      meta: "<ms>",
      help: steady ? "per-call deadline" : "deadline of each attempt (connect + call)",
    }),
    out: opt<string>({
      flag: "out",
      env: "RESULTS_FILE",
      default: steady ? "results/01_steady_results.txt" : "results/02_coldconn_results.txt",
      parse: text("a file path"),
      meta: "<file>",
      help: "results file (folders are created)",
    }),
    tlsMode: TLS_MODE_OPTION,
    ca: opt<string>({
      flag: "ca",
      env: "TLS_CA",
      default: "certs/ca.crt",
      parse: text("a file path"),
      meta: "<file>",
      help: "CA that signs df's certificate",
    }),
    cert: opt<string>({
      flag: "cert",
      env: "TLS_CERT",
      default: "certs/client.crt",
      parse: text("a file path"),
      meta: "<file>",
      help: "client certificate",
    }),
    key: opt<string>({
      flag: "key",
      env: "TLS_KEY",
      default: "certs/client.key",
      parse: text("a file path"),
      meta: "<file>",
      help: "client private key",
    }),
    serverName: opt<string | undefined>({
      flag: "server-name",
      env: "TLS_SERVER_NAME",
      parse: text("a host name"),
      meta: "<name>",
      help: "name to verify in df's certificate (default: the host)",
    }),
    slo: opt<string | undefined>({
      flag: "slo",
      env: "SLO",
      parse: text("SLO clauses"),
      meta: "<clauses>",
      help: 'judge the run, e.g. "p99<10ms,success>=99.9%"; exit 2 when a clause fails',
    }),
    startAt: opt<number | undefined>({
      flag: "start-at",
      env: "START_AT",
      parse: startAt,
      meta: "<time>",
      help: "start the schedule at this instant (epoch ms or ISO), shared by load hosts",
    }),
    shard: opt<Shard>({
      flag: "shard",
      env: "SHARD",
      default: { index: 1, count: 1 },
      defaultText: "1/1",
      parse: shard,
      meta: "<k/n>",
      help: "send shard k of n of the total rate (several load hosts)",
    }),
    pacing: opt<PacingMode>({
      flag: "pacing",
      env: "PACING",
      default: DEFAULT_PACING,
      parse: oneOf<PacingMode>(...PACING_MODES),
      meta: "<mode>",
      help: "wake: the connection's thread waits in its poll and a sleeping alarm thread wakes " +
        "it at each send (~0.1 ms late p99 on a quiet host, ~40 µs of CPU a send) | spin: never " +
        "sleeps while a send is due within ~10 ms (a core each; for a dedicated load host: INVALID " +
        "against a server on the same host) | " +
        "timer: sleeps on Deno's timer when the next send is over ~3.5 ms away, spins the rest",
    }),
    arrival: opt<Arrival>({
      flag: "arrival",
      env: "ARRIVAL",
      default: "constant",
      parse: oneOf<Arrival>(...ARRIVALS),
      meta: "<process>",
      help: steady
        ? "constant: request i at t0 + i/rate | poisson: exponential gaps of mean 1/rate " +
          "from --seed (random sampling, RFC 2330 11.1.1)"
        : "constant | poisson: how attempt instants are spaced (as in steady)",
    }),
    seed: opt<number | undefined>({
      flag: "seed",
      env: "SEED",
      parse: int(0, 4_294_967_295),
      meta: "<n>",
      help: "seed of the Poisson gaps (recorded in #META to replay a plan; default random; " +
        "every --shard must give the same)",
    }),
    proto: opt<string[]>({
      flag: "proto",
      env: "GRPC_PROTO",
      multiple: ",",
      default: [],
      meta: "<file>",
      help: "a .proto file with the --call method (repeatable; variable: comma-separated)",
    }),
    importPath: opt<string[]>({
      flag: "import-path",
      env: "GRPC_IMPORT_PATH",
      multiple: ",",
      default: [],
      meta: "<dir>",
      help: "a folder where --proto's imports are looked up (repeatable)",
    }),
    reflect: opt<boolean>({
      flag: "reflect",
      env: "GRPC_REFLECT",
      default: false,
      boolean: true,
      help: "ask the server for --call's schema through gRPC reflection (v1, else v1alpha)",
    }),
    call: opt<string | undefined>({
      flag: "call",
      env: "GRPC_CALL",
      parse: text("package.Service/Method"),
      meta: "<pkg.Service/Method>",
      help: "the unary method to call (default: df's score.ScoreService/GetScore with --payload)",
    }),
    data: opt<string | undefined>({
      flag: "data",
      env: "GRPC_DATA",
      parse: jsonText,
      meta: "<json>",
      help: "--call's request in protobuf JSON (names as in the .proto or lowerCamelCase), " +
        "encoded once (default {})",
    }),
    dataFile: opt<string | undefined>({
      flag: "data-file",
      env: "GRPC_DATA_FILE",
      parse: text("a file path"),
      meta: "<file>",
      help: "read --call's request JSON from a file",
    }),
    metadata: opt<string[]>({
      flag: "metadata",
      env: "GRPC_METADATA",
      multiple: "\n",
      default: [],
      meta: "<'key: value'>",
      help: "metadata sent with every call (repeatable; -bin keys in base64; variable: one a line)",
    }),
    overwrite: opt<boolean>({
      flag: "overwrite",
      env: "OVERWRITE",
      default: false,
      boolean: true,
      help: "replace an earlier complete results file (default: move it aside, named by its start)",
    }),
    quiet: opt<boolean>({
      flag: "quiet",
      env: "QUIET",
      default: false,
      boolean: true,
      help: "no progress lines",
    }),
    allowInsecure: opt<boolean>({
      flag: "allow-insecure",
      env: "SMFT_ALLOW_INSECURE",
      default: false,
      boolean: true,
      help: "required with --tls-mode insecure",
    }),
  };
}

function steadyOptions() {
  return {
    ...commonOptions("steady"),
    warmup: opt<number>({
      flag: "warmup",
      env: "T_WARMUP_SEC",
      default: 30,
      parse: num(0, 86_400),
      meta: "<s>",
      help: "warm-up seconds: sent, not recorded",
    }),
    connectTimeoutMs: opt<number>({
      flag: "connect-timeout-ms",
      env: "CONNECT_TIMEOUT_MS",
      default: 5000,
      parse: num(1, 600_000),
      meta: "<ms>",
      help: "give up when df is not reachable at start within this",
    }),
    connections: opt<number>({
      flag: "connections",
      env: "N_CONNECTIONS",
      default: 1,
      parse: int(1, 64),
      meta: "<n>",
      help: "channels, each driven by its own thread with shard k of n of this host's " +
        "schedule, into one results file (more cores for more load)",
    }),
    payload: opt<string | undefined>({
      flag: "payload",
      env: "PAYLOAD",
      parse: jsonText,
      meta: "<json>",
      help: "request JSON (default: a 64-feature vector)",
    }),
    payloadFile: opt<string | undefined>({
      flag: "payload-file",
      env: "PAYLOAD_FILE",
      parse: text("a file path"),
      meta: "<file>",
      help: "read the request JSON from a regular file of at most 4 MiB (gRPC's message limit)",
    }),
    findCapacity: opt<boolean>({
      flag: "find-capacity",
      env: "FIND_CAPACITY",
      default: false,
      boolean: true,
      help: "step the rate up from --rps (x2), then bisect, to the highest rate that meets --slo " +
        "on a VALID run; each step is a run of --warmup + --duration (e.g. --duration 30)",
    }),
    capacityMax: opt<number>({
      flag: "capacity-max",
      env: "CAPACITY_MAX_RPS",
      default: 20_000,
      parse: num(1, 1e6),
      meta: "<rate>",
      help: "--find-capacity never tries a rate above this",
    }),
    capacityPrecision: opt<number>({
      flag: "capacity-precision",
      env: "CAPACITY_PRECISION",
      default: 0.05,
      parse: num(0.001, 1),
      meta: "<fraction>",
      help:
        "--find-capacity stops when the failing rate is within this fraction of the passing one",
    }),
    capacitySteps: opt<number>({
      flag: "capacity-steps",
      env: "CAPACITY_MAX_STEPS",
      default: 12,
      parse: int(2, 100),
      meta: "<n>",
      help: "--find-capacity runs at most this many steps",
    }),
  };
}

function coldconnOptions() {
  const s = steadyOptions();
  return {
    ...commonOptions("coldconn"),
    attempts: opt<number | undefined>({
      flag: "attempts",
      env: "N_ATTEMPTS",
      parse: int(1, 10_000_000),
      meta: "<n>",
      help: "stop after this many attempts (this host's) instead of --duration",
    }),
    warmupAttempts: opt<number>({
      flag: "warmup-attempts",
      env: "N_WARMUP_ATTEMPTS",
      default: 1,
      parse: int(0, 1000),
      meta: "<n>",
      help: "attempts made first, on the same schedule, and not recorded: the first attempt of " +
        "a process also times its own start-up (its client's and TLS code run for the first time)",
    }),
    payload: {
      ...s.payload,
      help: "request JSON of each attempt's call (default: a 64-feature vector)",
    },
    payloadFile: s.payloadFile,
  };
}

/**
 * steady's options that coldconn does not take, and why (flags only: their variables may sit in
 * a shared `.env` for steady and are ignored by coldconn).
 */
export const NOT_FOR_COLDCONN: Record<string, string> = {
  warmup: "coldconn's warm-up is counted in attempts: --warmup-attempts <n> (default 1)",
  "connect-timeout-ms":
    "coldconn has no separate connect timeout: --deadline-ms bounds each attempt, connect + call",
  connections: "coldconn makes a new connection per attempt; its --rps sets how many at once",
};

/** Option tables, for `--help` and resolution. */
export const OPTIONS = { steady: steadyOptions(), coldconn: coldconnOptions() };

/** A default request: a realistic feature vector, the same bytes every call. */
export function defaultPayload(): string {
  const features = Array.from(
    { length: 64 },
    (_, i) => Number(Math.abs(Math.sin(i + 1) * 10).toFixed(6)),
  );
  return JSON.stringify({
    model: "score-v1",
    entity_id: "acct-000042",
    features,
    context: { country: "DE", channel: "web", hour: 14 },
  });
}
