/**
 * The layered lookup every command's options go through: flags, then the process environment,
 * then a `.env` file, then defaults; with the option-definition type, the common value parsers
 * and the `--help` table. A leaf (imports nothing from df, smft or tools), shared by df, smft and
 * the tools so that every command names a bad value the same way: one line, the source, and what
 * was expected.
 *
 * @module
 */
import { parseArgs, parseEnv } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import type { TlsMode } from "../../certs/tls.ts";

/** A problem with the configuration: printed as one line, exit code 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Converts a raw string to a value, or throws a message naming what is expected. */
export type Parser<T> = (raw: string) => T;

/** One option of a command. */
export interface OptionDef<T = unknown> {
  /** Long flag, without `--`. */
  flag: string;
  /** Environment variable (also read from the `.env` file). */
  env?: string;
  /** Value when no source gives one. */
  default?: T;
  /** How `--help` shows the default, when `String(default)` would not read well. */
  defaultText?: string;
  /** A flag that takes no value. */
  boolean?: boolean;
  /**
   * A flag that may be given several times: the value is every flag's text, in order, else the
   * variable's text split at this separator (no `parse`: the caller checks each item).
   */
  multiple?: string;
  /** Parses and validates a raw value; throws `Error` with what is expected. */
  parse?: Parser<T>;
  /** Placeholder shown in `--help`, e.g. `<ms>`. */
  meta?: string;
  /** One line for `--help`. */
  help: string;
}

/** Where a resolved value came from. */
export type Source = "flag" | "environment" | "env file" | "default";

/** Inputs of a resolution; injected so that tests need no real process state. */
export interface ResolveInput {
  args: string[];
  env: Record<string, string | undefined>;
  /** `.env` files to try in order when `--env-file` is not given; the first that exists is read. */
  envFiles?: string[];
  /** Allow positional arguments (file names). @default false */
  positionals?: boolean;
}

/** Resolved values, keyed like the definitions, with their sources and positionals. */
export interface Resolved<V> {
  values: V;
  sources: Record<keyof V, Source>;
  positionals: string[];
  envFile?: string;
  help: boolean;
  /**
   * One line each, for the caller to print on stderr (this module prints nothing): keys of the
   * `.env` file read that look like the suite's settings but are none of them, e.g. `DF_PROT`.
   */
  warnings: string[];
}

/** A command's option table. */
export type Defs = Record<string, OptionDef>;
/** The resolved values of a table of option definitions, typed from the table. */
export type ValuesOf<D extends Defs> = {
  [K in keyof D]: D[K] extends OptionDef<infer T> ? T : never;
};

/** Resolves `defs` from `input`; throws `ConfigError` for unknown flags and bad values. */
export function resolveOptions<D extends Defs>(
  defs: D,
  input: ResolveInput,
): Resolved<ValuesOf<D>> {
  const flagOptions: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    "env-file": { type: "string" },
  };
  for (const def of Object.values(defs)) {
    flagOptions[def.flag] = {
      type: def.boolean ? "boolean" : "string",
      ...(def.multiple ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: input.args,
      options: flagOptions,
      allowPositionals: input.positionals ?? false,
      strict: true,
    });
  } catch (e) {
    throw new ConfigError(
      withNearestFlag(cleanParseArgsMessage((e as Error).message), Object.keys(flagOptions)),
    );
  }
  const flags = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const help = flags.help === true;

  let envFile: string | undefined;
  let fileEnv: Record<string, string | undefined> = {};
  // ENV_FILE works where a flag named --env-file cannot pass: Node 20 (which runs npx) reads
  // "--env-file" anywhere on its command line, so `npx deno task df --env-file x` never reaches df.
  const fromEnv = input.env.ENV_FILE !== undefined && input.env.ENV_FILE !== ""
    ? input.env.ENV_FILE
    : undefined;
  const explicit = (flags["env-file"] as string | undefined) ?? fromEnv;
  const explicitName = flags["env-file"] !== undefined ? "--env-file" : "ENV_FILE";
  const candidates = explicit !== undefined ? [explicit] : (input.envFiles ?? []);
  for (const path of candidates) {
    if (!existsSync(path)) {
      if (explicit !== undefined) throw new ConfigError(`${explicitName} ${path}: file not found`);
      continue;
    }
    try {
      fileEnv = parseEnv(readFileSync(path, "utf8")) as Record<string, string | undefined>;
    } catch (e) {
      throw new ConfigError(`env file ${path}: cannot read (${(e as Error).message})`);
    }
    envFile = path;
    break;
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  for (const [key, def] of Object.entries(defs)) {
    const fromFlag = flags[def.flag];
    let raw: string | boolean | string[] | undefined;
    let source: Source = "default";
    let name = `--${def.flag}`;
    let where = "";
    if (fromFlag !== undefined) {
      raw = fromFlag;
      source = "flag";
    } else if (def.env && input.env[def.env] !== undefined && input.env[def.env] !== "") {
      raw = input.env[def.env];
      source = "environment";
      name = def.env;
      where = " (environment)";
    } else if (def.env && fileEnv[def.env] !== undefined && fileEnv[def.env] !== "") {
      raw = fileEnv[def.env];
      source = "env file";
      name = def.env;
      where = ` (in ${envFile})`;
    }
    const label = (value: string) => `${name}=${JSON.stringify(value)}${where}`;
    sources[key] = source;
    if (def.multiple) {
      const items = raw === undefined
        ? []
        : Array.isArray(raw)
        ? raw
        : String(raw).split(def.multiple);
      values[key] = items.map((x) => x.trim()).filter((x) => x !== "");
    } else if (raw === undefined) {
      values[key] = def.default;
    } else if (Array.isArray(raw)) {
      values[key] = raw.at(-1);
    } else if (typeof raw === "boolean") {
      values[key] = raw;
    } else {
      try {
        values[key] = def.boolean ? parseBool(raw) : def.parse ? def.parse(raw) : raw;
      } catch (e) {
        throw new ConfigError(`${label(raw)}: ${(e as Error).message}`);
      }
    }
  }
  const own = Object.values(defs).flatMap((d) => d.env ? [d.env] : []);
  const warnings = envFile === undefined
    ? []
    : unknownKeys(Object.keys(fileEnv), own).map((u) =>
      `${envFile}: unknown setting ${u.key}${u.near ? ` (did you mean ${u.near}?)` : ""}: ignored`
    );
  return {
    values: values as ValuesOf<D>,
    sources: sources as Record<keyof ValuesOf<D>, Source>,
    positionals: parsed.positionals,
    envFile,
    help,
    warnings,
  };
}

/**
 * Every setting df and smft read from the environment or a `.env` file, beside those of the
 * command being resolved: one `.env` may serve several programs, and a key another program reads
 * is not a mistake. `tests/env_file_test.ts` checks this list against the option tables.
 */
export const SUITE_ENV_KEYS: readonly string[] = [
  "DF_HOST",
  "DF_PORT",
  "DELAY_MS",
  "TLS_MODE",
  "TLS_CA",
  "TLS_CERT",
  "TLS_KEY",
  "TLS_SERVER_NAME",
  "N_RPS",
  "N_ATTEMPTS",
  "N_WARMUP_ATTEMPTS",
  "N_CONNECTIONS",
  "COLD_RPS",
  "FIND_CAPACITY",
  "CAPACITY_MAX_RPS",
  "CAPACITY_PRECISION",
  "CAPACITY_MAX_STEPS",
  "T_DURATION_SEC",
  "T_WARMUP_SEC",
  "DEADLINE_MS",
  "CONNECT_TIMEOUT_MS",
  "RESULTS_FILE",
  "PAYLOAD",
  "PAYLOAD_FILE",
  "SLO",
  "START_AT",
  "SHARD",
  "SHARD_COUNT",
  "JOB_COMPLETION_INDEX",
  "QUIET",
  "ENV_FILE",
  "OVERWRITE",
  "PACING",
  "DF_PACING",
  "SMFT_ALLOW_INSECURE",
  "DF_ALLOW_INSECURE",
  "DF_GRACE_MS",
  "DF_HANDSHAKE_TIMEOUT_MS",
  "DF_IDLE_TIMEOUT_MS",
  "DF_LOG_INTERVAL_MS",
  "DF_MAX_BUFFERED_BYTES",
  "DF_MAX_CONNS",
  "DF_MAX_CONNS_PER_ADDRESS",
  "DF_MAX_HANDSHAKES",
  "DF_MAX_HANDSHAKES_PER_ADDRESS",
  "DF_MAX_RSS_MB",
  "DF_MAX_STREAMS",
  "ARRIVAL",
  "SEED",
  "GRPC_PROTO",
  "GRPC_IMPORT_PATH",
  "GRPC_REFLECT",
  "GRPC_CALL",
  "GRPC_DATA",
  "GRPC_DATA_FILE",
  "GRPC_METADATA",
];

/** Prefixes of the suite's settings: an unknown key with one of them is likely a misspelling. */
const OUR_PREFIXES = ["DF_", "TLS_", "N_", "T_", "SMFT_", "GRPC_"];

/**
 * Keys of a `.env` file that look like the suite's settings but are none: a known prefix, or
 * within 2 edits of a known setting. Other keys (another program's, say `PATH_PREFIX`) pass.
 */
export function unknownKeys(
  keys: string[],
  own: string[],
): { key: string; near?: string }[] {
  const known = new Set([...own, ...SUITE_ENV_KEYS]);
  const out: { key: string; near?: string }[] = [];
  for (const key of keys) {
    if (known.has(key)) continue;
    const near = nearest(key, known);
    if (near !== undefined || OUR_PREFIXES.some((p) => key.startsWith(p))) out.push({ key, near });
  }
  return out;
}

/** The name in `known` within 2 edits of `name` with the fewest, if any. */
function nearest(name: string, known: Iterable<string>): string | undefined {
  let near: string | undefined;
  let best = 3;
  for (const k of known) {
    const d = editDistance(name, k, best);
    if (d < best) {
      best = d;
      near = k;
    }
  }
  return near;
}

/**
 * The known flag nearest to `flag` (within 2 edits, or one it begins), if any: `--rsp` gets
 * `--rps`, as a misspelt `.env` key gets its setting.
 */
function nearestFlag(flag: string, known: string[]): string | undefined {
  const name = flag.replace(/^-+/, "").split("=")[0];
  let near = nearest(name, known);
  near ??= name.length >= 3 ? known.find((k) => k.startsWith(name)) : undefined;
  return near === undefined ? undefined : `--${near}`;
}

/** parseArgs's "Unknown option '--x'" with the nearest known flag, when there is one. */
export function withNearestFlag(message: string, known: string[]): string {
  const unknown = /^Unknown option '(--[^']+)'/.exec(message)?.[1];
  const near = unknown && nearestFlag(unknown, known);
  return near ? `${message} (did you mean ${near}?)` : message;
}

/** Levenshtein distance of `a` and `b`, or `limit` when it is at least that. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(
        prev[j] + 1,
        cur[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= limit) return limit;
    prev = cur;
  }
  return Math.min(prev[b.length], limit);
}

function parseBool(raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error("expected true or false");
}

function cleanParseArgsMessage(message: string): string {
  const ambiguous = /Option '(--[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) {
    return `${ambiguous[1]}: a value starting with '-' must be written ${ambiguous[1]}=<value>`;
  }
  // parseArgs explains how to pass a positional; that advice does not fit these commands.
  return message.split(/\. To specify a positional|\n/)[0].replace(/^TypeError.*?: /, "");
}

/** An option's default as `--help` shows it, or undefined when it shows none. */
export function shownDefault(d: OptionDef): string | undefined {
  if (d.defaultText !== undefined) return d.defaultText;
  if (d.default === undefined || d.default === false) return undefined;
  const s = String(d.default);
  return s === "" ? undefined : s;
}

/** Formats the options table for `--help`. */
export function formatOptions(defs: Defs): string {
  const rows = Object.values(defs).map((d) => {
    const left = `  --${d.flag}${d.boolean ? "" : ` ${d.meta ?? "<value>"}`}`;
    const env = d.env ? ` [${d.env}]` : "";
    const shown = shownDefault(d);
    const dflt = shown !== undefined ? ` (default ${shown})` : "";
    return [left, `${d.help}${env}${dflt}`];
  });
  rows.push([
    "  --env-file <path>",
    "read settings from this .env file [ENV_FILE] (through npx, use ENV_FILE=<path>)",
  ]);
  rows.push(["  -h, --help", "show this help"]);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([l, r]) => l.padEnd(width) + r).join("\n");
}

// Parsers: each throws a message saying what is expected.

/** An integer in [min, max]. */
export function int(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = Number(raw.trim());
    if (!/^[+-]?\d+$/.test(raw.trim()) || n < min || n > max) {
      throw new Error(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** A finite number in [min, max]. */
export function num(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new Error(`expected a number from ${min} to ${max}`);
    }
    return n;
  };
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(...choices: T[]): Parser<T> {
  return (raw) => {
    const v = raw.trim().toLowerCase() as T;
    if (!choices.includes(v)) throw new Error(`expected one of ${choices.join(", ")}`);
    return v;
  };
}

/** A non-empty string (a path or a host name). */
export function text(what: string): Parser<string> {
  return (raw) => {
    if (raw.trim() === "") throw new Error(`expected ${what}`);
    return raw.trim();
  };
}

/** The `--tls-mode` / `TLS_MODE` option, the same for df and smft. */
export const TLS_MODE_OPTION: OptionDef<TlsMode> & { default: TlsMode } = {
  flag: "tls-mode",
  env: "TLS_MODE",
  default: "mtls",
  parse: oneOf<TlsMode>("mtls", "tls", "insecure"),
  meta: "<mode>",
  help: "mtls | tls | insecure",
};
