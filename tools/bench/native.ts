/**
 * The native reference client: builds `tools/bench/native/client/` (grpc-go) and runs it,
 * so smft's figures can be compared with a native gRPC client's against the same df in the
 * same run. The Go client writes the same results files as smft (`#TEST`, `#META`, one line per
 * request or attempt, `#END`), so the tools summarise both alike.
 *
 * It builds offline in GOPATH mode against Debian's packages (`golang-go`,
 * `golang-google-grpc-dev`: grpc-go and its dependencies under `/usr/share/gocode/src`), with
 * no module proxy. Nothing here prints: every function returns what happened.
 *
 * Permissions: `--allow-run` (go and the built binary), `--allow-read`, `--allow-write`
 * (`results/.native/`), `--allow-env`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";
import { onCore } from "../programs.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The Go package (folder) of the native client. */
const NATIVE_SOURCE: string = join(ROOT, "tools", "bench", "native", "client");

/** Where {@link buildNativeClient} puts the binary by default. */
const NATIVE_BIN: string = join(ROOT, "results", ".native", "grpc-go-client");

/** The Go package (folder) of the native server (df's service in grpc-go). */
const NATIVE_SERVER_SOURCE: string = join(ROOT, "tools", "bench", "native", "server");

/** Where {@link buildNativeServer} puts the binary by default. */
export const NATIVE_SERVER_BIN: string = join(ROOT, "results", ".native", "grpc-go-server");

/** Where Debian's golang-*-dev packages install Go sources. */
const DEBIAN_GOPATH = "/usr/share/gocode";

/** The packages that provide what the build needs. */
const INSTALL_HINT = "apt-get install golang-go golang-google-grpc-dev";

/** Options of {@link buildNativeClient}. */
export interface BuildOptions {
  /** The `go` command. @default {"go"} (from PATH) */
  go?: string;
  /** GOPATH holding `src/google.golang.org/grpc` and its dependencies. @default {"/usr/share/gocode"} */
  goPath?: string;
  /** The binary to write. @default {NATIVE_BIN} */
  out?: string;
  /** Build even when the binary is newer than the source. @default {false} */
  force?: boolean;
}

/** The binary's path, or why there is none. */
export interface BuildResult {
  path?: string;
  reason?: string;
}

const decoder = new TextDecoder();

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await mtime(path)) !== undefined;
}

/** The newest modification time of the `.go` files in a package folder; undefined if none. */
async function sourceMtime(dir: string): Promise<number | undefined> {
  let newest: number | undefined;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".go")) continue;
      const t = await mtime(join(dir, e.name));
      if (t !== undefined && (newest === undefined || t > newest)) newest = t;
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return newest;
}

/** Runs a command to completion; `undefined` when the program is not there. */
async function run(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  try {
    const r = await new Deno.Command(cmd, {
      args,
      env,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    return { code: r.code, stdout: decoder.decode(r.stdout), stderr: decoder.decode(r.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** The environment of a GOPATH-mode, offline, cgo-free build. */
function buildEnv(goPath: string, cacheDir: string): Record<string, string> {
  const env: Record<string, string> = {
    GO111MODULE: "off",
    GOPATH: goPath,
    GOFLAGS: "",
    GOPROXY: "off",
    GOTOOLCHAIN: "local",
    CGO_ENABLED: "0",
  };
  // go refuses to build without a cache folder; give it one when the usual ones are unset.
  const has = (k: string) => (Deno.env.get(k) ?? "") !== "";
  if (!has("GOCACHE") && !has("HOME") && !has("XDG_CACHE_HOME")) env.GOCACHE = cacheDir;
  return env;
}

/**
 * Builds the native client unless an up-to-date binary (newer than its source) is already
 * there. Returns `{ path }`, or `{ reason }` when `go`, the grpc-go sources or the build fail,
 * with what to install.
 */
export function buildNativeClient(opts: BuildOptions = {}): Promise<BuildResult> {
  return buildNative(NATIVE_SOURCE, opts.out ?? NATIVE_BIN, "client", opts);
}

/** Builds the native server (`tools/bench/native/server/`) like {@link buildNativeClient}. */
export function buildNativeServer(opts: BuildOptions = {}): Promise<BuildResult> {
  return buildNative(NATIVE_SERVER_SOURCE, opts.out ?? NATIVE_SERVER_BIN, "server", opts);
}

async function buildNative(
  source: string,
  out: string,
  what: string,
  opts: BuildOptions,
): Promise<BuildResult> {
  const go = opts.go ?? "go";
  const goPath = opts.goPath ?? DEBIAN_GOPATH;

  const sourceTime = await sourceMtime(source);
  if (sourceTime === undefined) return { reason: `native ${what} source missing: ${source}` };
  const binTime = await mtime(out);
  if (!opts.force && binTime !== undefined && binTime >= sourceTime) return { path: out };

  const version = await run(go, ["version"]);
  if (version === undefined) return { reason: `go not found: ${INSTALL_HINT}` };
  if (version.code !== 0) {
    return { reason: `"${go} version" failed: ${version.stderr.trim() || version.stdout.trim()}` };
  }
  const grpcDirs = goPath.split(":").filter((p) => p !== "").map((p) =>
    join(p, "src", "google.golang.org", "grpc")
  );
  let found = false;
  for (const d of grpcDirs) {
    if (await exists(join(d, "version.go"))) {
      found = true;
      break;
    }
  }
  if (!found) {
    return {
      reason: `grpc-go sources not found (looked for ${
        grpcDirs.join(", ") || "GOPATH/src/google.golang.org/grpc"
      }): ${INSTALL_HINT}`,
    };
  }

  const outDir = dirname(out);
  await Deno.mkdir(outDir, { recursive: true });
  // Build beside the target and rename, so a concurrent run never sees half a binary.
  const tmp = `${out}.tmp-${Deno.pid}`;
  const built = await run(
    go,
    // GOPATH mode builds a folder outside GOPATH only by a relative path ("./..."); run() uses ROOT.
    ["build", "-trimpath", "-o", tmp, `./${relative(ROOT, source)}`],
    buildEnv(goPath, join(outDir, "go-cache")),
  );
  if (built === undefined) return { reason: `go not found: ${INSTALL_HINT}` };
  if (built.code !== 0) {
    await Deno.remove(tmp).catch(() => {});
    const log = (built.stderr.trim() || built.stdout.trim()).split("\n").slice(0, 20).join("\n");
    const missing = /cannot find package/.test(log)
      ? ` (a Go package is missing: ${INSTALL_HINT})`
      : "";
    return { reason: `go build of the native ${what} failed${missing}:\n${log}` };
  }
  await Deno.rename(tmp, out);
  return { path: out };
}

/** Arguments of one native run; they map one to one onto the Go client's flags. */
export interface NativeArgs {
  /** steady: one connection, fixed rate; coldconn: a new TLS connection per attempt. */
  mode: "steady" | "coldconn";
  /** df's `host:port`. */
  addr: string;
  /** Name verified in df's certificate. @default {"localhost"} */
  serverName?: string;
  /** CA certificate that signs df's certificate. */
  ca: string;
  /** Client certificate. */
  cert: string;
  /** Client private key. */
  key: string;
  /** Requests (steady) or attempts (coldconn) per second. */
  rate: number;
  /** Measured seconds (coldconn: used when `attempts` is not given). @default {5} */
  durationS?: number;
  /** steady: seconds sent first and not written. @default {1} */
  warmupS?: number;
  /** Deadline of each call (coldconn: connect and call together). @default {1000} */
  deadlineMs?: number;
  /** coldconn: number of attempts. @default {rate × durationS} */
  attempts?: number;
  /** steady: time allowed to connect before the run. @default {5000} */
  connectTimeoutMs?: number;
  /** Results file. */
  out: string;
  /** Request JSON; without it, smft's default payload (the same bytes). */
  payloadFile?: string;
  /** How the schedule waits: `nanosleep` (precise) or Go's ~1 ms timers. @default {"nanosleep"} */
  pacer?: "nanosleep" | "timer";
  /** Pins the client to this CPU (`taskset -c`): one host of one core. */
  cpu?: number;
  /** Aborting sends SIGTERM: the schedule stops, and the file is written, marked interrupted. */
  signal?: AbortSignal;
}

/** The Go client's command line for `args`. */
function nativeArgv(args: NativeArgs): string[] {
  const argv = [
    "-mode",
    args.mode,
    "-addr",
    args.addr,
    "-servername",
    args.serverName ?? "localhost",
    "-ca",
    args.ca,
    "-cert",
    args.cert,
    "-key",
    args.key,
    "-rate",
    String(args.rate),
    "-out",
    args.out,
  ];
  const opt = (flag: string, v: string | number | undefined) => {
    if (v !== undefined) argv.push(flag, String(v));
  };
  opt("-duration", args.durationS);
  opt("-warmup", args.warmupS);
  opt("-deadline-ms", args.deadlineMs);
  opt("-attempts", args.attempts);
  opt("-connect-timeout-ms", args.connectTimeoutMs);
  opt("-payload-file", args.payloadFile);
  opt("-pacer", args.pacer);
  return argv;
}

/** What a native run returned. */
export interface NativeRun {
  /** 0 done, 1 df unreachable or the file could not be written, 2 bad flags, 130 interrupted. */
  code: number;
  stdout: string;
  stderr: string;
  /** The one-line JSON the client prints last (file, count, ok, p50_ms/p99_ms or connect_p50_ms, ...). */
  summary?: Record<string, unknown>;
}

/**
 * Runs the native client (from {@link buildNativeClient}) and waits for it. Relative paths in
 * `args` are resolved against the current working directory.
 */
export async function runNative(bin: string, args: NativeArgs): Promise<NativeRun> {
  const [cmd, argv] = onCore(args.cpu, bin, nativeArgv(args));
  const r = await new Deno.Command(cmd, {
    args: argv,
    stdout: "piped",
    stderr: "piped",
    signal: args.signal,
  }).output();
  const stdout = decoder.decode(r.stdout);
  const result: NativeRun = {
    code: r.code,
    stdout,
    stderr: decoder.decode(r.stderr),
  };
  const last = stdout.trim().split("\n").at(-1);
  if (last?.startsWith("{")) {
    try {
      result.summary = JSON.parse(last);
    } catch {
      // not the summary line: leave it out
    }
  }
  return result;
}
