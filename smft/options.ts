/**
 * smft's options for `steady` and `coldconn`: flags > process environment > `.env` > defaults,
 * with the seed's variable names. The one place smft settings are resolved and checked.
 *
 * @module
 */
import { readFileSync } from "node:fs";
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
      parse: text("a host name or address"),
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
    rps: opt<number[]>({
      flag: "rps",
      env: "N_RPS",
      default: [steady ? 500 : 1],
      parse: rates,
      meta: "<n[,n...]>",
      help: steady ? "requests per second; a list runs each rate in turn" : "attempts per second",
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
  return {
    ...commonOptions("coldconn"),
    attempts: opt<number | undefined>({
      flag: "attempts",
      env: "N_ATTEMPTS",
      parse: int(1, 10_000_000),
      meta: "<n>",
      help: "stop after this many attempts instead of --duration",
    }),
  };
}

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
  let payload = v.payload ?? defaultPayload();
  const payloadFile = v.payloadFile;
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
  return {
    help: false,
    config: {
      ...resolveCommon(v, r.sources.shard, env, now),
      rates: v.rps,
      warmupS: v.warmup,
      connectTimeoutMs: v.connectTimeoutMs,
      payload,
    },
  };
}

/** Resolves `smft coldconn`. */
export function resolveColdconn(
  args: string[],
  env: Record<string, string | undefined>,
  now = Date.now(),
): Resolution<ColdConfig> {
  const r = resolveOptions(OPTIONS.coldconn, { args, env, envFiles: envFiles() });
  if (r.help) return { help: true };
  const v = r.values;
  const list = v.rps;
  if (list.length !== 1) {
    throw new ConfigError("N_RPS: coldconn takes one attempt rate, not a list");
  }
  return {
    help: false,
    config: {
      ...resolveCommon(v, r.sources.shard, env, now),
      rate: list[0],
      attempts: v.attempts,
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
else ./.env), then defaults. Exit codes: 0 ok, 1 bad configuration or df unreachable,
2 an SLO clause failed, 3 the run is invalid (generator fell behind), 130 interrupted.

Options:
${formatOptions(OPTIONS[cmd])}
`;
}
