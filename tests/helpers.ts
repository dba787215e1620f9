/**
 * Shared pieces of the end-to-end tests: certificates in a temporary folder, df started as a
 * real process (the Deno binary itself, not the npm shim, so that its pid is df's), and a
 * grpc-js client over real mTLS.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as tls from "node:tls";
import { type CertFiles, generateCerts } from "../certs/generate.ts";
import { clientCredentials, loadTls, type TlsMode } from "../certs/tls.ts";
import { scoreService } from "../proto/score.ts";
import { DF, runArgs, SMFT } from "../tools/programs.ts";

/** Repository root, the working folder of every spawned process. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** `deno run` flags of df (permissions, V8 flags), as the df task has them. */
export const DF_PERMISSIONS: string[] = runArgs(DF).slice(1, -1);
/** `deno run` flags of smft, as the steady and coldconn tasks have them. */
export const SMFT_PERMISSIONS: string[] = runArgs(SMFT).slice(1, -1);

let certsOnce: Promise<CertFiles> | undefined;

/** One set of test certificates per test process, in a temporary folder. */
export function testCerts(): Promise<CertFiles> {
  certsOnce ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "smft-test-certs-" });
    return (await generateCerts({ out: dir })).files;
  })();
  return certsOnce;
}

/** Environment for df using the test certificates. */
export async function dfEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const c = await testCerts();
  return {
    // Never the user's df/.env or ./.env: a test's settings are its own.
    ENV_FILE: await emptyEnvFile(),
    TLS_CA: c.caCrt,
    TLS_CERT: c.serverCrt,
    TLS_KEY: c.serverKey,
    DF_HOST: "127.0.0.1",
    DF_PORT: "0",
    DELAY_MS: "5",
    ...extra,
  };
}

/** Environment for smft using the test certificates. */
export async function smftEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const c = await testCerts();
  return {
    // Never the user's smft/.env or ./.env: a test's settings are its own.
    ENV_FILE: await emptyEnvFile(),
    TLS_CA: c.caCrt,
    TLS_CERT: c.clientCrt,
    TLS_KEY: c.clientKey,
    DF_HOST: "localhost",
    ...extra,
  };
}

/** A process started by a test, with its output collected line by line. */
export class Proc {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  #done: Promise<Deno.CommandStatus>;
  #waiters: {
    re: RegExp;
    stream: "stdout" | "stderr";
    from: number;
    resolve: (m: RegExpMatchArray) => void;
  }[] = [];

  /** `opts.command` runs another program (e.g. `ip netns exec ...`) instead of Deno. */
  constructor(
    args: string[],
    env: Record<string, string>,
    opts: { cwd?: string; command?: string } = {},
  ) {
    this.child = new Deno.Command(opts.command ?? Deno.execPath(), {
      args,
      env: { NO_COLOR: "1", ...env },
      clearEnv: false,
      cwd: opts.cwd ?? ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>, which: "stdout" | "stderr") => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
        this[which] += chunk;
        this.#check();
      }
    };
    const pumps = Promise.all([
      pump(this.child.stdout, "stdout"),
      pump(this.child.stderr, "stderr"),
    ]);
    this.#done = pumps.then(() => this.child.status);
  }

  get pid(): number {
    return this.child.pid;
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((w) => {
      const m = this[w.stream].slice(w.from).match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }

  /**
   * Resolves when `re` matches the output collected from offset `from` on; rejects after
   * `timeoutMs` or at exit.
   */
  waitFor(
    re: RegExp,
    stream: "stdout" | "stderr" = "stdout",
    timeoutMs = 20_000,
    from = 0,
  ): Promise<RegExpMatchArray> {
    const { promise, resolve, reject } = Promise.withResolvers<RegExpMatchArray>();
    const timer = setTimeout(
      () =>
        reject(
          new Error(`timed out waiting for ${re} in ${stream}:\n${this.stdout}\n${this.stderr}`),
        ),
      timeoutMs,
    );
    this.#waiters.push({ re, stream, from, resolve });
    this.#check();
    this.#done.then(() => {
      // Let a final chunk be checked before giving up.
      this.#check();
      reject(
        new Error(`process exited before ${re} in ${stream}:\n${this.stdout}\n${this.stderr}`),
      );
    });
    return promise.finally(() => clearTimeout(timer));
  }

  /** Sends a signal by pid (the process is Deno itself, not a wrapper). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      Deno.kill(this.pid, signal);
    } catch { /* already gone */ }
  }

  /** Waits for exit; the output is complete afterwards. */
  wait(): Promise<Deno.CommandStatus> {
    return this.#done;
  }

  /** Ends the process if it still runs and waits for it. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    this.kill(signal);
    return await this.#done;
  }
}

/**
 * Asserts that an smft run ran to its end and wrote its whole file: exit 0 (`VALID`) or 3
 * (`INVALID`: the generator fell behind its schedule). Both are accepted because these tests
 * check counts and files, not timing, and on a 2-core machine that also runs df (and other
 * tests) the generator can honestly fall behind; the reason it gives is printed here, in one
 * place, so that it is never lost. Any other exit fails with the output.
 */
export function assertRanToEnd(code: number, stdout: string, stderr = ""): void {
  if (code === 0) return;
  if (code === 3) {
    const why = /^INVALID: (.*)$/m.exec(stdout)?.[1];
    if (!why) throw new Error(`exit 3 without an INVALID line:\n${stdout}\n${stderr}`);
    console.log(`  INVALID on this machine (accepted, see assertRanToEnd): ${why}`);
    return;
  }
  throw new Error(`smft exited ${code}, not 0 or 3:\n${stdout}\n${stderr}`);
}

/** A df process and the port it listens on. */
export interface DfProc extends Proc {
  port: number;
}

/** Starts df as a real process on a free loopback port. */
export async function startDfProcess(
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<DfProc> {
  const proc = new Proc(
    ["run", ...DF_PERMISSIONS, "df/main.ts", ...args],
    await dfEnv(env),
  ) as DfProc;
  try {
    const m = await proc.waitFor(/listening on \S+:(\d+)/);
    proc.port = Number(m[1]);
  } catch (e) {
    await proc.stop("SIGKILL");
    throw e;
  }
  return proc;
}

/** Runs a command to completion and returns its status and output. */
export async function run(
  args: string[],
  env: Record<string, string> = {},
  opts: { cwd?: string; command?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  // A program that never ends is killed (SIGKILL) and fails its test instead of hanging it.
  const ctl = new AbortController();
  const timer = opts.timeoutMs === undefined
    ? undefined
    : setTimeout(() => ctl.abort(), opts.timeoutMs);
  try {
    const out = await new Deno.Command(opts.command ?? Deno.execPath(), {
      args,
      env: { NO_COLOR: "1", ...env },
      cwd: opts.cwd ?? ROOT,
      stdin: "null",
      signal: ctl.signal,
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** Client identity for a test call. */
export interface ClientTls {
  mode?: TlsMode;
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  /** Offer TLS 1.2 only (to prove df refuses it). */
  tls12Only?: boolean;
}

/** A grpc-js ScoreService client over TLS 1.3; `mode` mtls by default. */
export async function scoreClient(port: number, t: ClientTls = {}): Promise<ScoreClient> {
  const c = await testCerts();
  const mode = t.mode ?? "mtls";
  const material = loadTls(
    mode,
    { ca: t.ca ?? c.caCrt, cert: t.cert ?? c.clientCrt, key: t.key ?? c.clientKey },
    "client",
  );
  const Ctor = grpc.makeGenericClientConstructor(scoreService, "ScoreService");
  const options: grpc.ChannelOptions = { "grpc.use_local_subchannel_pool": 1 };
  if (t.serverName) options["grpc.ssl_target_name_override"] = t.serverName;
  const creds = t.tls12Only
    ? grpc.credentials.createFromSecureContext(
      tls.createSecureContext({ ...material, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" }),
    )
    : clientCredentials(mode, material);
  return new ScoreClient(new Ctor(`localhost:${port}`, creds, options) as unknown as RawClient);
}

type RawClient = grpc.Client & {
  GetScore(
    req: { json: string },
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null, v?: { score: number }) => void,
  ): grpc.ClientUnaryCall;
};

/** The outcome of one call. */
export interface CallResult {
  ok: boolean;
  score?: number;
  code?: number;
  details?: string;
  trailers?: grpc.Metadata;
}

/** Thin promise wrapper over a generated client. */
export class ScoreClient {
  constructor(readonly raw: RawClient) {}

  call(json = "[0.1,0.2]", deadlineMs = 5000): Promise<CallResult> {
    return new Promise((resolve) => {
      let trailers: grpc.Metadata | undefined;
      const call = this.raw.GetScore(
        { json },
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (e, v) => {
          // The status event carries the trailers; it fires before or after the callback.
          queueMicrotask(() =>
            resolve(
              e
                ? { ok: false, code: e.code, details: e.details, trailers }
                : { ok: true, score: v?.score, trailers },
            )
          );
        },
      );
      call.on("status", (s: grpc.StatusObject) => trailers = s.metadata);
    });
  }

  close(): void {
    this.raw.close();
  }
}

/** A results file, split into its parts. */
export interface ParsedResults {
  test: string;
  meta: Record<string, unknown>;
  end?: Record<string, unknown>;
  lines: Record<string, unknown>[];
  /** Raw text, for checks on line integrity. */
  text: string;
}

/** Reads a results file written by smft; throws if a result line is not valid JSON. */
export async function readResultsFile(path: string): Promise<ParsedResults> {
  const text = await Deno.readTextFile(path);
  const out: ParsedResults = { test: "", meta: {}, lines: [], text };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#TEST=")) out.test = line.slice(6);
    else if (line.startsWith("#META=")) out.meta = JSON.parse(line.slice(6));
    else if (line.startsWith("#END=")) out.end = JSON.parse(line.slice(5));
    else out.lines.push(JSON.parse(line));
  }
  return out;
}

/**
 * Starts `smft <args>` as a real process through its one entry (`tools/main.ts`), with the test
 * certificates.
 */
export async function startSmft(
  args: string[],
  env: Record<string, string> = {},
): Promise<Proc> {
  return new Proc([...runArgs(SMFT), ...args], await smftEnv(env));
}

/** A fresh temporary folder for a test's results. */
export function tempResults(prefix = "smft-results-"): Promise<string> {
  return Deno.makeTempDir({ prefix });
}

/**
 * Waits for a process for at most `timeoutMs`, then ends it (SIGKILL, by pid) and waits for that:
 * a hung process fails its test instead of hanging the suite.
 */
export async function waitAtMost(proc: Proc, timeoutMs: number): Promise<Deno.CommandStatus> {
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    return await proc.wait();
  } finally {
    clearTimeout(timer);
  }
}

/** Resident memory of a process (Linux `/proc/<pid>/status` VmRSS), in KiB. */
export async function rssKiB(pid: number): Promise<number> {
  // Deno reads another process's /proc files only with --allow-all; the test task grants
  // --allow-run, so `cat` reads it.
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped" })
    .output();
  const status = new TextDecoder().decode(out.stdout);
  const m = status.match(/^VmRSS:\s+(\d+) kB$/m);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** The soft limit on open files that processes started by the tests inherit (`ulimit -n`). */
export async function openFileLimit(): Promise<number> {
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}

/** What a client saw of one raw TLS connection to df (see {@link tlsHandshake}). */
export interface RawTls {
  socket: tls.TLSSocket;
  /** The client's own port: df logs the peer as `127.0.0.1:<localPort>`. */
  localPort: number;
  /** The TLS handshake completed on the client's side. */
  secure: boolean;
  /** Bytes received after the handshake (df's HTTP/2 SETTINGS when it accepted the client). */
  received: number;
  error?: string;
  /** Resolves when the connection is closed. */
  closed: Promise<void>;
}

/**
 * One real TLS connection to 127.0.0.1:`port` with ALPN h2 (what grpc-js offers) and the test
 * certificates unless others are given. Resolves once the handshake is done (and df has had
 * `settleMs` to answer or close), the connection failed, or `timeoutMs` passed; the socket stays
 * open until closed.
 */
export async function tlsHandshake(
  port: number,
  o: {
    ca?: string;
    cert?: string | null;
    key?: string | null;
    maxVersion?: tls.SecureVersion;
    settleMs?: number;
    /** Give up waiting for the handshake after this long (the socket stays as it is). */
    timeoutMs?: number;
  } = {},
): Promise<RawTls> {
  const c = await testCerts();
  const read = (p: string | null | undefined, dflt: string) =>
    p === null ? undefined : readFileSync(p ?? dflt);
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    servername: "localhost",
    ALPNProtocols: ["h2"],
    ca: readFileSync(o.ca ?? c.caCrt),
    cert: read(o.cert, c.clientCrt),
    key: read(o.key, c.clientKey),
    maxVersion: o.maxVersion,
  });
  const r: RawTls = {
    socket,
    localPort: 0,
    secure: false,
    received: 0,
    closed: new Promise((resolve) => socket.once("close", () => resolve())),
  };
  // The port is gone once the socket closes: note it as soon as TCP is up.
  socket.once("connect", () => r.localPort = socket.localPort ?? 0);
  socket.on("data", (d: Uint8Array) => r.received += d.length);
  socket.on("error", (e: Error) => r.error ??= e.message);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await new Promise<void>((resolve) => {
    timer = setTimeout(resolve, o.timeoutMs ?? 10_000);
    socket.once("secureConnect", () => {
      r.secure = true;
      clearTimeout(timer);
      timer = setTimeout(resolve, o.settleMs ?? 0);
    });
    r.closed.then(() => resolve());
  });
  clearTimeout(timer);
  return r;
}

let emptyEnv: Promise<string> | undefined;

/**
 * An empty `.env` file, made once per test process: `ENV_FILE` points df and smft at it, so that
 * a user's own `df/.env`, `smft/.env` or `./.env` never changes what a test runs.
 */
export function emptyEnvFile(): Promise<string> {
  emptyEnv ??= Deno.makeTempFile({ prefix: "tests-empty-", suffix: ".env" });
  return emptyEnv;
}

/** What a {@link startFakeDf} answers to call number `i` (0-based): raw trailer values. */
export type FakeAnswer = (i: number) => Record<string, string>;

/** A fake df listening on loopback, and how many calls it answered. */
export interface FakeDf {
  port: number;
  calls: () => number;
  close: () => Promise<void>;
}

/**
 * A misbehaving df: a `node:http2` server over TLS 1.3 with the test certificates (client
 * certificate required) that answers every call with an empty message and the trailers `answer`
 * gives, verbatim (e.g. `grpc-status: abc`, `df-handling-us: 99999999999999999999`). It plays a
 * server smft must not trust; the real df never sends these.
 */
export async function startFakeDf(answer: FakeAnswer): Promise<FakeDf> {
  const { startRawServer } = await import("./raw_grpc_server.ts");
  // One empty protobuf message (flag 0, length 0), then the trailers as given.
  return startRawServer((i) => ({ body: new Uint8Array(5), trailers: answer(i) }));
}
