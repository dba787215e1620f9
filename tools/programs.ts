/**
 * The two programs as every launcher runs them (tasks, compile, demo, bench, tests): entry
 * point, the permissions each needs, and its V8 flags. `deno.json`'s task lines repeat these;
 * `tests/config_test.ts` checks that they agree.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { DEFAULT_PACING } from "../smft/shared/pacer.ts";

/**
 * A young generation of 2 MB instead of V8's default 16 MB. Finished calls stay reachable from
 * grpc-js and Deno's node:http2 until a full GC, so every scavenge copies ~8 KB per call made
 * since the last one: with the default, 2-3 MB and 5-14 ms pauses every ~0.4 s, which stall the
 * schedule and df's hold. With 2 MB: pauses under 1 ms (p50), generator lag p99 ×0.46, df hold
 * p99 ×0.76, RSS −20 %, CPU unchanged (interleaved runs, README "Performance").
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=2";

/** One program. */
export interface Program {
  name: "df" | "smft";
  /** Entry point of its tasks and its compiled binary. */
  entry: string;
  permissions: string[];
  /** Files `deno compile` cannot find by following static imports. */
  includes: string[];
}

export const DF: Program = {
  name: "df",
  entry: "df/main.ts",
  // sys=uid: Deno's fs.accessSync asks for it, and grpc-health-check looks its .proto up so.
  permissions: ["--allow-net", "--allow-read", "--allow-env", "--allow-sys=uid"],
  includes: ["proto/score.proto", "smft/shared/alarm_worker.ts"],
};

export const SMFT: Program = {
  name: "smft",
  // smft's one entry (tasks, binary, tests): steady, coldconn (with the report writer
  // `--find-capacity` needs) and the tools.
  entry: "tools/main.ts",
  permissions: [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys=hostname",
  ],
  // `--connections N` starts this module as a worker: a URL, not an import.
  includes: [
    "proto/score.proto",
    "smft/connection_worker.ts",
    "smft/io_probe_worker.ts",
    "smft/shared/alarm_worker.ts",
  ],
};

/**
 * `cmd args`, pinned to one CPU with `taskset -c` when `core` is given (one host of one core, as
 * the bench emulates it): the command and arguments to run.
 */
export function onCore(core: number | undefined, cmd: string, args: string[]): [string, string[]] {
  return core === undefined ? [cmd, args] : ["taskset", ["-c", String(core), cmd, ...args]];
}

/** `deno run` arguments for a program, up to and including its entry point. */
export function runArgs(p: Program): string[] {
  return ["run", ...p.permissions, V8_FLAGS, p.entry];
}

/** df started by a tool (demo, bench) on a free loopback port. */
export interface SpawnedDf {
  child: Deno.ChildProcess;
  port: number;
  /** df's start-up line. */
  startLine: string;
  /** Sends SIGTERM, waits for df to exit, and returns the rest of its stdout (its totals). */
  stop(): Promise<string>;
}

/** Starts df as its own process (so it does not share the caller's event loop). */
export function spawnDf(o: {
  ca: string;
  cert: string;
  key: string;
  delayMs: number;
  stderr: "inherit" | "null";
  /** df's `--pacing` (`DF_PACING`). @default DEFAULT_PACING */
  pacing?: string;
  /** Pins df to this CPU (`taskset -c`): a server host of one core. */
  core?: number;
}): Promise<SpawnedDf> {
  const [cmd, args] = onCore(o.core, Deno.execPath(), runArgs(DF));
  return spawnListening(cmd, args, {
    DF_HOST: "127.0.0.1",
    DF_PORT: "0",
    DELAY_MS: String(o.delayMs),
    DF_PACING: o.pacing ?? DEFAULT_PACING,
    TLS_CA: o.ca,
    TLS_CERT: o.cert,
    TLS_KEY: o.key,
  }, o.stderr);
}

/**
 * Starts a server that prints `listening on HOST:PORT` on stdout (df, the grpc-go server) and
 * resolves with its port once it has.
 */
export async function spawnListening(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  stderr: "inherit" | "null",
): Promise<SpawnedDf> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    env,
    stdout: "piped",
    stderr,
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let head = "";
  let m: RegExpExecArray | null;
  while (!(m = /listening on \S+:(\d+)/.exec(head))) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`${cmd} did not start`);
    }
    head += value;
  }
  const rest = async (): Promise<string> => {
    let out = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += r.value;
    return out;
  };
  return {
    child,
    port: Number(m[1]),
    startLine: head.trim(),
    async stop() {
      child.kill("SIGTERM");
      const out = await rest();
      await child.status;
      return out;
    },
  };
}
