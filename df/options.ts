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
  oneOf,
  type Resolved,
  resolveOptions,
  text,
  TLS_MODE_OPTION,
} from "../smft/shared/layered_config.ts";
import { DEFAULT_PACING, PACING_MODES, type PacingMode } from "../smft/shared/pacer.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

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
  pacing: {
    flag: "pacing",
    env: "DF_PACING",
    default: DEFAULT_PACING,
    parse: oneOf<PacingMode>(...PACING_MODES),
    meta: "<mode>",
    help: "how the hold waits: wake (a sleeping alarm thread wakes df at each release, " +
      "~0.1 ms late, no core spent) | spin (never sleeps while a release is near: a core, " +
      "for a dedicated host that wants the last 0.1 ms) | timer (sleeps on Deno's timer when " +
      "the next release is over ~3.5 ms away, spins the rest)",
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
  maxStreams: {
    flag: "max-streams",
    env: "DF_MAX_STREAMS",
    default: DEFAULT_LIMITS.maxStreams,
    parse: int(1, 2 ** 31 - 1),
    meta: "<n>",
    help: "concurrent streams per connection, advertised in SETTINGS; more are refused",
  },
  maxConnectionsPerAddress: {
    flag: "max-conns-per-address",
    env: "DF_MAX_CONNS_PER_ADDRESS",
    default: DEFAULT_LIMITS.maxConnectionsPerAddress,
    parse: int(1, 1_000_000),
    meta: "<n>",
    help: "open connections from one client address; more are closed at once",
  },
  maxConnections: {
    flag: "max-conns",
    env: "DF_MAX_CONNS",
    default: DEFAULT_LIMITS.maxConnections,
    parse: int(1, 1_000_000),
    meta: "<n>",
    help: "open connections in all; more are closed at once",
  },
  maxHandshakesPerAddress: {
    flag: "max-handshakes-per-address",
    env: "DF_MAX_HANDSHAKES_PER_ADDRESS",
    default: DEFAULT_LIMITS.maxHandshakesPerAddress,
    parse: int(1, 1_000_000),
    meta: "<n>",
    help: "connections from one address whose TLS handshake is not finished; more are closed",
  },
  maxHandshakes: {
    flag: "max-handshakes",
    env: "DF_MAX_HANDSHAKES",
    default: DEFAULT_LIMITS.maxHandshakes,
    parse: int(1, 1_000_000),
    meta: "<n>",
    help:
      "unfinished TLS handshakes in all; when full, the busiest address's oldest is closed for a new one",
  },
  handshakeTimeoutMs: {
    flag: "handshake-timeout-ms",
    env: "DF_HANDSHAKE_TIMEOUT_MS",
    default: DEFAULT_LIMITS.handshakeTimeoutMs,
    parse: int(1, 600_000),
    meta: "<ms>",
    help: "close a connection whose TLS handshake is not done this long after it was accepted",
  },
  idleTimeoutMs: {
    flag: "idle-timeout-ms",
    env: "DF_IDLE_TIMEOUT_MS",
    default: DEFAULT_LIMITS.idleTimeoutMs,
    parse: int(0, 86_400_000),
    meta: "<ms>",
    help: "close a connection with no call in progress for this long (0: never)",
  },
  maxBufferedBytes: {
    flag: "max-buffered-bytes",
    env: "DF_MAX_BUFFERED_BYTES",
    default: DEFAULT_LIMITS.maxBufferedBytes,
    parse: int(64 * 1024, 2 ** 31 - 1),
    meta: "<bytes>",
    help: "close a connection whose client leaves more than this many answer bytes unread",
  },
  maxRssMb: {
    flag: "max-rss-mb",
    env: "DF_MAX_RSS_MB",
    default: DEFAULT_LIMITS.maxRssMb,
    parse: int(0, 1_048_576),
    meta: "<MiB>",
    help: "above this resident memory accept no new connection, serve the open ones (0: no bound)",
  },
  logIntervalMs: {
    flag: "log-interval-ms",
    env: "DF_LOG_INTERVAL_MS",
    default: 10_000,
    parse: int(0, 3_600_000),
    meta: "<ms>",
    help:
      "repeats of a connection log cause are written as one counted line per interval (0: a line per event)",
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
function defaultEnvFiles(): string[] {
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
