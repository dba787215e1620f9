/**
 * smft's options for `steady` and `coldconn`: flags > process environment > `.env` > defaults,
 * with the seed's variable names. The one place smft settings are resolved and checked.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { fileURLToPath } from "node:url";
import {
  ConfigError,
  formatOptions,
  int,
  num,
  type OptionDef,
  type Parser,
  resolveOptions,
  type Source,
  text,
  TLS_MODE_OPTION,
  type ValuesOf,
} from "./shared/config.ts";
import type { TlsMode } from "../certs/tls.ts";

/** Which test. */
export type Command = "steady" | "coldconn";

/** `--shard k/n`: this host is shard k (1-based) of n. */
export interface Shard {
  index: number;
  count: number;
}

const rates: Parser<number[]> = (raw) => {
  const parts = raw.split(",").map((s) => s.trim());
  const out = parts.map((p) => Number(p));
  if (parts.some((p) => p === "") || out.some((n) => !Number.isFinite(n) || n <= 0 || n > 1e6)) {
    throw new Error(
      "expected a rate per second above 0 (or a comma-separated list, e.g. 500,1000)",
    );
  }
  return out;
};

const shard: Parser<Shard> = (raw) => {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) {
    throw new Error("expected k/n with 1 <= k <= n, e.g. 1/2");
  }
  return { index, count };
};

/**
 * `--host`: a host name or an IP address, nothing else. A URL, a `host:port` or a path is refused
 * with what to do instead: grpc-js would otherwise read `127.0.0.1:41101` with `--port` as
 * `127.0.0.1:41101:41101` and time out after the connect timeout.
 */
export const hostName: Parser<string> = (raw) => {
  const h = raw.trim();
  if (h === "") throw new Error("expected a host name or an IP address, not an empty string");
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(h);
  if (scheme) {
    throw new Error(
      `expected a host name or an IP address, not a URL: drop "${scheme[1]}://"` +
        " (TLS is set by --tls-mode; the port by --port/DF_PORT)",
    );
  }
  const unbracketed = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  if (isIP(unbracketed)) return unbracketed;
  const hostPort = /^(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(h);
  if (hostPort) {
    throw new Error(
      `expected a host without a port: give the port with --port/DF_PORT (e.g. DF_HOST=${
        hostPort[1]
      } DF_PORT=${hostPort[2]})`,
    );
  }
  if (
    h.length > 253 ||
    !/^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i
      .test(h)
  ) {
    throw new Error(
      "expected a host name (letters, digits, '-', '.') or an IP address, e.g. df.example or 10.0.0.5",
    );
  }
  return h;
};

/**
 * How much one smft process is allowed to plan, and why. Calls in flight are bounded by this
 * host's rate × the deadline (a call that never answers is held until its deadline): each holds
 * grpc-js and HTTP/2 state. Measured here (2026-11-28, Deno 2.9.3, 2 cores): 12,000 steady calls
 * held in flight by a slow df used no more memory than 12,000 fast ones (~300 MiB peak, i.e. at
 * most ~25 KiB each), so 50,000 calls in flight stay near 1.2 GiB. A rate of 1,000,000/s with a
 * 1 s deadline plans 1,000,000 calls in flight (~25 GiB) and died out of memory (issue 11). One
 * process issues at most ~3,000 calls/s (~0.35 ms of CPU per call), so a host rate above 20,000/s
 * can only be INVALID: split it with --shard over several load hosts. A cold-connection attempt
 * holds a socket and a TLS state (a file descriptor each, `ulimit -n` is often 1024): at most
 * 1,000 in flight and 500 attempts/s per host.
 */
export const PLAN_LIMITS = {
  steady: { maxHostRate: 20_000, maxInflight: 50_000, unit: "calls" },
  coldconn: { maxHostRate: 500, maxInflight: 1_000, unit: "attempts" },
} as const;

/**
 * Refuses a plan that cannot fit one process ({@link PLAN_LIMITS}), naming the limit and why.
 */
export function checkPlan(cmd: Command, hostRate: number, deadlineMs: number, label: string): void {
  const l = PLAN_LIMITS[cmd];
  if (hostRate > l.maxHostRate) {
    throw new ConfigError(
      `${label}: ${hostRate}/s on this host is above smft's limit of ${l.maxHostRate}/s per host ` +
        `(one process issues ~${
          cmd === "steady" ? "3,000 calls" : "a few hundred handshakes"
        }/s; ` +
        `beyond the limit the plan cannot be kept and holds up to rate x deadline ${l.unit} in ` +
        `memory): split the rate with --shard k/n over several load hosts`,
    );
  }
  const inflight = Math.ceil(hostRate * deadlineMs / 1000);
  if (inflight > l.maxInflight) {
    throw new ConfigError(
      `${label}: ${hostRate}/s x deadline ${deadlineMs} ms allows ${inflight} ${l.unit} in ` +
        `flight, above smft's limit of ${l.maxInflight} (each holds memory${
          cmd === "coldconn" ? " and a socket" : ", ~25 KiB"
        }): lower --deadline-ms or the rate, or use --shard`,
    );
  }
}

/** `--start-at`: epoch milliseconds or an ISO 8601 time. */
const startAt: Parser<number> = (raw) => {
  const t = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Date.parse(raw.trim());
  if (!Number.isFinite(t)) {
    throw new Error("expected epoch milliseconds or an ISO time, e.g. 2026-11-25T10:00:00Z");
  }
  return t;
};

/** An option definition, typed by its value (the table's types come from these). */
function opt<T>(def: OptionDef<T>): OptionDef<T> {
  return def;
}

function commonOptions(cmd: Command) {
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
      help: "read the request JSON from a file",
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
const NOT_FOR_COLDCONN: Record<string, string> = {
  warmup: "coldconn has no warm-up: every attempt is a new connection and is measured",
  "connect-timeout-ms":
    "coldconn has no separate connect timeout: --deadline-ms bounds each attempt, connect + call",
};

function jsonText(raw: string): string {
  try {
    JSON.parse(raw);
  } catch {
    throw new Error("expected valid JSON");
  }
  return raw;
}

/** Option tables, for `--help` and resolution. */
export const OPTIONS = { steady: steadyOptions(), coldconn: coldconnOptions() };

/** Settings common to both tests, resolved. */
export interface CommonConfig {
  host: string;
  port: number;
  serverName: string;
  deadlineMs: number;
  out: string;
  tlsMode: TlsMode;
  ca: string;
  cert: string;
  key: string;
  slo?: string;
  /** Epoch ms at which the schedule starts (shared by hosts), if given. */
  startAt?: number;
  shard: Shard;
  quiet: boolean;
  durationS: number;
  /** Replace an earlier complete results file instead of moving it aside. */
  overwrite: boolean;
  /** Lines about the `.env` file to print (e.g. a misspelt key). */
  envWarnings?: string[];
}

/** `smft steady`, resolved. */
export interface SteadyConfig extends CommonConfig {
  rates: number[];
  warmupS: number;
  connectTimeoutMs: number;
  /** Request JSON. */
  payload: string;
}

/** `smft coldconn`, resolved. */
export interface ColdConfig extends CommonConfig {
  rate: number;
  attempts?: number;
  /** Request JSON of each attempt's call. */
  payload: string;
}

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

/** `.env` files tried when `--env-file` is not given: beside the program, then the working folder. */
function envFiles(): string[] {
  return [fileURLToPath(new URL("./.env", import.meta.url)), ".env"];
}

/** A resolution: `--help` asked for, or the settings. */
export type Resolution<C> = { help: true } | { help: false; config: C };

type CommonValues = ValuesOf<ReturnType<typeof commonOptions>>;

/**
 * A Kubernetes Indexed Job gives each pod `JOB_COMPLETION_INDEX` (0-based); with `SHARD_COUNT`
 * it names the shard when `--shard`/`SHARD` is not given.
 */
function shardFromJob(env: Record<string, string | undefined>): Shard | undefined {
  const index = env.JOB_COMPLETION_INDEX;
  const count = env.SHARD_COUNT;
  if (index === undefined || count === undefined) return undefined;
  try {
    return shard(`${Number(index) + 1}/${count}`);
  } catch {
    throw new ConfigError(
      `JOB_COMPLETION_INDEX=${JSON.stringify(index)} with SHARD_COUNT=${
        JSON.stringify(count)
      }: expected 0 <= index < count`,
    );
  }
}

function resolveCommon(
  v: CommonValues,
  shardSource: Source,
  env: Record<string, string | undefined>,
  now: number,
): CommonConfig {
  const c: CommonConfig = {
    host: v.host,
    port: v.port,
    serverName: v.serverName ?? v.host,
    deadlineMs: v.deadlineMs,
    out: v.out,
    tlsMode: v.tlsMode,
    ca: v.ca,
    cert: v.cert,
    key: v.key,
    slo: v.slo,
    startAt: v.startAt,
    shard: (shardSource === "default" ? shardFromJob(env) : undefined) ?? v.shard,
    quiet: v.quiet,
    durationS: v.duration,
    overwrite: v.overwrite,
  };
  if (c.startAt !== undefined && c.startAt <= now) {
    throw new ConfigError(
      `--start-at ${new Date(c.startAt).toISOString()} is already past (now ${
        new Date(now).toISOString()
      })`,
    );
  }
  if (c.tlsMode === "insecure" && !v.allowInsecure) {
    throw new ConfigError(
      "TLS_MODE=insecure sends plaintext; add --allow-insecure (or SMFT_ALLOW_INSECURE=1) to mean it",
    );
  }
  return c;
}

/** Resolves `smft steady`. `now` is injected for the `--start-at` check. */
export function resolveSteady(
  args: string[],
  env: Record<string, string | undefined>,
  now = Date.now(),
): Resolution<SteadyConfig> {
  const r = resolveOptions(OPTIONS.steady, { args, env, envFiles: envFiles() });
  if (r.help) return { help: true };
  const v = r.values;
  const common = resolveCommon(v, r.sources.shard, env, now);
  const label = r.sources.rps === "flag" ? "--rps" : "N_RPS";
  for (const rate of v.rps) checkPlan("steady", rate / common.shard.count, v.deadlineMs, label);
  return {
    help: false,
    config: {
      ...common,
      envWarnings: r.warnings,
      rates: v.rps,
      warmupS: v.warmup,
      connectTimeoutMs: v.connectTimeoutMs,
      payload: readPayload(v.payload, v.payloadFile),
    },
  };
}

/** The request JSON: `--payload`, else the file `--payload-file`, else the default vector. */
function readPayload(inline: string | undefined, payloadFile: string | undefined): string {
  let payload = inline ?? defaultPayload();
  if (payloadFile !== undefined) {
    try {
      payload = readFileSync(payloadFile, "utf8");
    } catch (e) {
      throw new ConfigError(
        `PAYLOAD_FILE ${payloadFile}: cannot read (${
          (e as NodeJS.ErrnoException).code ?? (e as Error).message
        })`,
      );
    }
    try {
      JSON.parse(payload);
    } catch {
      throw new ConfigError(`PAYLOAD_FILE ${payloadFile}: not valid JSON`);
    }
  }
  return payload;
}

/** Resolves `smft coldconn`. */
export function resolveColdconn(
  args: string[],
  env: Record<string, string | undefined>,
  now = Date.now(),
): Resolution<ColdConfig> {
  for (const a of args) {
    if (a === "--") break;
    const flag = /^--([^=]+)/.exec(a)?.[1];
    if (flag && NOT_FOR_COLDCONN[flag]) {
      throw new ConfigError(`--${flag} is a steady option: ${NOT_FOR_COLDCONN[flag]}`);
    }
  }
  const r = resolveOptions(OPTIONS.coldconn, { args, env, envFiles: envFiles() });
  if (r.help) return { help: true };
  const v = r.values;
  const list = v.rps;
  const label = r.sources.rps === "flag" ? "--rps" : "COLD_RPS";
  if (list.length !== 1) {
    throw new ConfigError(`${label}: coldconn takes one attempt rate, not a list`);
  }
  const common = resolveCommon(v, r.sources.shard, env, now);
  checkPlan("coldconn", list[0] / common.shard.count, v.deadlineMs, label);
  return {
    help: false,
    config: {
      ...common,
      envWarnings: r.warnings,
      rate: list[0],
      attempts: v.attempts,
      payload: readPayload(v.payload, v.payloadFile),
    },
  };
}

/** The results file for one rate of a ladder, and for a shard: `x_1000rps_shard1of2.txt`. */
export function resultsPath(base: string, rate: number | undefined, s: Shard): string {
  const m = /^(.*?)(\.[^./]*)?$/.exec(base)!;
  const rateTag = rate === undefined ? "" : `_${rate}rps`;
  const shardTag = s.count > 1 ? `_shard${s.index}of${s.count}` : "";
  return `${m[1]}${rateTag}${shardTag}${m[2] ?? ""}`;
}

/** `--help` text of a subcommand. */
export function helpText(cmd: Command): string {
  const intro = cmd === "steady"
    ? `smft steady: a fixed request rate, open loop, over one reused HTTP/2 channel.

Request i is due at t0 + i/rate and is sent then, however late (nothing is skipped). Each
result line records latency_ms = done - intended (response time, free of coordinated
omission), service_ms = done - issued, lag_ms = issued - intended (the generator's own error).
The run is INVALID (exit 3) when the achieved rate is more than 1 % off or lag p99 >= 1 ms.`
    : `smft coldconn: a brand-new TLS 1.3 + mTLS channel per attempt, timed phase by phase.

Attempt i starts at t0 + i/rate even when earlier ones are slow (overlaps are reported). Each
line records t_dns_ms, t_tcp_ms, t_tls_ms, t_h2_ms, t_connect_ms (channel ready),
t_first_rpc_ms (ready to response) and t_total_ms, all from the attempt's start.`;
  return `${intro}

Usage: deno task ${cmd} [options]    (or ./smft ${cmd} [options])

Settings come from flags, then the environment, then a .env file (--env-file, else smft/.env,
else ./.env), then defaults.${
    cmd === "coldconn"
      ? "\ncoldconn reads its rate from --rps or COLD_RPS (default 1/s), never from N_RPS (steady's)."
      : ""
  }

Exit codes (the first that applies):
  130  interrupted (SIGINT/SIGTERM); the file is kept, marked interrupted
  4    a results file could not be written during the run (disk full, ...): the .partial
       keeps every whole line
  1    bad configuration, results path unusable, or df unreachable at start
  5    the run is INVALID (the generator fell behind) and an SLO clause failed
  3    the run is INVALID, SLO clauses passed or none given
  2    an SLO clause failed in a VALID run
  0    a VALID run, every SLO clause passed
Both verdicts are always printed. A lag p99 is judged on 100 measured calls or more.

Options:
${formatOptions(OPTIONS[cmd])}
`;
}
