/**
 * The settings of `steady` and `coldconn`, resolved from smft's option table (flags > process
 * environment > `.env` > defaults) and checked together: the one place smft settings are made.
 *
 * @module
 */
import { randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  ConfigError,
  resolveOptions,
  type Source,
  type ValuesOf,
} from "./shared/layered_config.ts";
import type { TlsMode } from "../certs/tls.ts";
import { BoundedReadError, readBoundedFile } from "../certs/bounded_read.ts";
import type { PacingMode } from "./shared/pacer.ts";
import { type commonOptions, defaultPayload, NOT_FOR_COLDCONN, OPTIONS } from "./option_table.ts";
import { type Shard, shard } from "./option_parsers.ts";
import { checkCallsDue, checkPlan } from "./plan_limits.ts";
import type { Arrival } from "./schedule.ts";
import { parseCall, parseMetadata, requestJson } from "./method.ts";

/**
 * What `--call` and its options asked for; the schema is read before the run (`resolveMethod`,
 * `method.ts`).
 */
export interface MethodOptions {
  call: string;
  /** `.proto` files, or empty with `reflect`. */
  proto: string[];
  importPath: string[];
  reflect: boolean;
  /** The request JSON and what to call it in an error line. */
  json: string;
  label: string;
}

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
  /** How the thread that owns a connection waits for the next send (`--pacing`). */
  pacing: PacingMode;
  /** Lines about the `.env` file to print (e.g. a misspelt key). */
  envWarnings?: string[];
  /** How request instants are spaced (`--arrival`). */
  arrival: Arrival;
  /** Seed of the Poisson gaps (given, or drawn at random and recorded). */
  seed?: number;
  /** `--call` and its schema and request; undefined: df's GetScore with `payload`. */
  method?: MethodOptions;
  /** `--metadata`, sent with every call (GetScore's too). */
  metadata: [string, string][];
}

/** `smft steady`, resolved. */
export interface SteadyConfig extends CommonConfig {
  rates: number[];
  warmupS: number;
  connectTimeoutMs: number;
  /** Channels, each on its own thread (`--connections`). */
  connections: number;
  /** Request JSON. */
  payload: string;
  /** `--find-capacity`: search for the highest rate that meets the SLO, and its bounds. */
  capacity?: { maxRate: number; precision: number; maxSteps: number };
}

/** `smft coldconn`, resolved. */
export interface ColdConfig extends CommonConfig {
  rate: number;
  attempts?: number;
  /** Attempts made first and not recorded (`--warmup-attempts`). */
  warmupAttempts: number;
  /** Request JSON of each attempt's call. */
  payload: string;
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
    pacing: v.pacing,
    arrival: v.arrival,
    seed: v.arrival === "poisson" ? v.seed ?? randomInt(0, 2 ** 32) : undefined,
    method: methodOptions(v),
    metadata: v.metadata.map(parseMetadata),
  };
  if (c.arrival === "poisson" && v.seed === undefined && c.shard.count > 1) {
    throw new ConfigError(
      `--arrival poisson with --shard ${c.shard.index}/${c.shard.count} needs --seed (SEED): ` +
        "the same on every shard, so that they split one plan",
    );
  }
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

/** `--call` and the options that only make sense with it, checked together. */
function methodOptions(v: CommonValues): MethodOptions | undefined {
  if (v.call === undefined) {
    const stray = v.proto.length
      ? "--proto"
      : v.reflect
      ? "--reflect"
      : v.data !== undefined
      ? "--data"
      : v.dataFile !== undefined
      ? "--data-file"
      : v.importPath.length
      ? "--import-path"
      : undefined;
    if (stray) {
      throw new ConfigError(
        `${stray} needs --call package.Service/Method (without --call smft calls df's GetScore ` +
          "with --payload)",
      );
    }
    return undefined;
  }
  parseCall(v.call);
  if (v.reflect && v.proto.length) {
    throw new ConfigError("--proto and --reflect both given: take the schema from one of them");
  }
  if (!v.reflect && !v.proto.length) {
    throw new ConfigError(
      `--call ${v.call} needs its schema: --proto FILE (with --import-path DIR for its imports) ` +
        "or --reflect (ask the server)",
    );
  }
  return {
    call: v.call,
    proto: v.proto,
    importPath: v.importPath,
    reflect: v.reflect,
    ...requestJson(v.data, v.dataFile),
  };
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
  for (const rate of v.rps) {
    checkPlan("steady", rate / common.shard.count, v.deadlineMs, label);
    checkCallsDue(
      { rate, durationS: common.durationS, shard: common.shard },
      label,
    );
  }
  if (v.findCapacity) {
    if (v.rps.length !== 1) {
      throw new ConfigError(`--find-capacity starts from one rate; ${label} is a list`);
    }
    if (!common.slo) {
      throw new ConfigError(
        '--find-capacity needs an SLO to meet: add --slo, e.g. --slo "p99<10ms,success>=99.9%"',
      );
    }
    if (common.startAt !== undefined || common.shard.count > 1) {
      throw new ConfigError(
        "--find-capacity searches from one load host: it takes no --start-at or --shard " +
          "(several hosts would each step on their own)",
      );
    }
    if (v.capacityMax < v.rps[0]) {
      throw new ConfigError(
        `--capacity-max ${v.capacityMax} is below the rate the search starts from (${label} ` +
          `${v.rps[0]}): raise --capacity-max or lower ${label}`,
      );
    }
    checkPlan("steady", v.capacityMax / common.shard.count, v.deadlineMs, "--capacity-max");
  }
  return {
    help: false,
    config: {
      ...common,
      envWarnings: r.warnings,
      rates: v.rps,
      warmupS: v.warmup,
      connectTimeoutMs: v.connectTimeoutMs,
      connections: v.connections,
      payload: readPayload(v.payload, v.payloadFile, common, r.sources),
      capacity: v.findCapacity
        ? { maxRate: v.capacityMax, precision: v.capacityPrecision, maxSteps: v.capacitySteps }
        : undefined,
    },
  };
}

/**
 * The largest payload file: gRPC's default message limit, which df keeps
 * (`grpc.max_receive_message_length`, 4 MiB), less room for the message's own framing; a larger
 * request would fail every call.
 */
const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024 - 64;

/** The request JSON: `--payload`, else the file `--payload-file`, else the default vector. */
function readPayload(
  inline: string | undefined,
  payloadFile: string | undefined,
  common: CommonConfig,
  sources: { payload: Source; payloadFile: Source },
): string {
  // A variable may sit in a .env shared with GetScore runs; a flag given with --call is a slip.
  const flag = sources.payload === "flag"
    ? "--payload"
    : sources.payloadFile === "flag"
    ? "--payload-file"
    : undefined;
  if (common.method && flag) {
    throw new ConfigError(
      `${flag} is df's GetScore request; with --call give the request with --data or --data-file`,
    );
  }
  let payload = inline ?? defaultPayload();
  if (payloadFile !== undefined) {
    try {
      payload = readBoundedFile(payloadFile, MAX_PAYLOAD_BYTES).toString("utf8");
    } catch (e) {
      throw new ConfigError(
        e instanceof BoundedReadError
          ? `PAYLOAD_FILE ${payloadFile}: is ${e.message} (the gRPC message limit df accepts)`
          : `PAYLOAD_FILE ${payloadFile}: cannot read (${
            e instanceof Deno.errors.NotFound ? "ENOENT" : (e as Error).message
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
  // With --attempts the duration follows from them; without, it must hold one attempt.
  if (v.attempts === undefined) {
    checkCallsDue({ rate: list[0], durationS: common.durationS, shard: common.shard }, label);
  }
  return {
    help: false,
    config: {
      ...common,
      envWarnings: r.warnings,
      rate: list[0],
      attempts: v.attempts,
      warmupAttempts: v.warmupAttempts,
      payload: readPayload(v.payload, v.payloadFile, common, r.sources),
    },
  };
}
