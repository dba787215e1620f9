/**
 * df's options: flags > process environment > `.env` > defaults (names from the seed).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  formatOptions,
  int,
  num,
  type Resolved,
  resolveOptions,
  text,
  TLS_MODE_OPTION,
} from "../smft/shared/config.ts";

/** df's option table; `--help` is generated from it. */
export const DF_OPTIONS = {
  host: {
    flag: "host",
    env: "DF_HOST",
    default: "0.0.0.0",
    parse: text("a host name or address"),
    meta: "<addr>",
    help: "address to listen on",
  },
  port: {
    flag: "port",
    env: "DF_PORT",
    default: 50051,
    parse: int(0, 65535),
    meta: "<port>",
    help: "port; 0 picks a free one",
  },
  delayMs: {
    flag: "delay-ms",
    env: "DELAY_MS",
    default: 5,
    parse: num(0, 60_000),
    meta: "<ms>",
    help: "hold each call this long (fractional allowed)",
  },
  tlsMode: TLS_MODE_OPTION,
  ca: {
    flag: "ca",
    env: "TLS_CA",
    default: "certs/ca.crt",
    parse: text("a file path"),
    meta: "<file>",
    help: "CA that signs client certificates",
  },
  cert: {
    flag: "cert",
    env: "TLS_CERT",
    default: "certs/server.crt",
    parse: text("a file path"),
    meta: "<file>",
    help: "server certificate",
  },
  key: {
    flag: "key",
    env: "TLS_KEY",
    default: "certs/server.key",
    parse: text("a file path"),
    meta: "<file>",
    help: "server private key",
  },
  graceMs: {
    flag: "grace-ms",
    env: "DF_GRACE_MS",
    default: 5000,
    parse: int(0, 600_000),
    meta: "<ms>",
    help: "on SIGINT/SIGTERM, let calls in flight finish for up to this long",
  },
  allowInsecure: {
    flag: "allow-insecure",
    env: "DF_ALLOW_INSECURE",
    default: false,
    boolean: true,
    help: "required with --tls-mode insecure",
  },
  version: { flag: "version", default: false, boolean: true, help: "print the version and exit" },
};

/** Resolved df options. */
export type DfConfig = Resolved<
  {
    [K in keyof typeof DF_OPTIONS]: (typeof DF_OPTIONS)[K]["default"];
  }
>;

/** `.env` files tried when `--env-file` is not given: beside the program, then the working folder. */
export function defaultEnvFiles(): string[] {
  const beside = fileURLToPath(new URL("./.env", import.meta.url));
  return [beside, ".env"];
}

/** Resolves df's options from the given process state. */
export function resolveDfOptions(
  args: string[],
  env: Record<string, string | undefined>,
): DfConfig {
  return resolveOptions(DF_OPTIONS, { args, env, envFiles: defaultEnvFiles() }) as DfConfig;
}

/** `df --help`. */
export function dfHelp(): string {
  return `df: the system under test, a score.ScoreService/GetScore server (TLS 1.3, mutual TLS)

Usage: deno task df [options]     (or the compiled ./df [options])

Each call is held for DELAY_MS and answered with a random score in [0, 1). Trailing metadata
"df-handling-us" carries df's own handling time (request received to response sent) in µs.
Settings come from flags, then the environment, then a .env file (--env-file, else df/.env,
else ./.env), then defaults.

Options:
${formatOptions(DF_OPTIONS)}
`;
}
