/**
 * Runs the verdict's calibration matrix (`matrix.ts` says what and why): for each cell, the
 * grpc-go client, unimpeded, then smft, then the grpc-go client again, at the same rate, through the same link, against the same
 * server. Servers and relays are started once per kind; a starved cell runs smft pinned to core 0
 * beside a busy process pinned there too. Nothing here prints but `progress` lines.
 *
 * @module
 */
import { join } from "node:path";
import { onCore, type SpawnedDf } from "../programs.ts";
import type { Summary } from "../../smft/summary.ts";
import type { NativeArgs } from "./native.ts";
import { type Cell, type CellResult, cellTag, figuresOf, RELAY_DELAY_MS } from "./matrix.ts";
import { startRelay } from "./relay.ts";
import { CLIENT_CORE } from "./one_core.ts";
import { stealSince } from "./steal.ts";

/** A client's run, read back from its results file. */
export interface ClientRun {
  summary: Summary;
  end: Record<string, unknown>;
}

/** What the matrix needs from the bench. */
export interface MatrixEnv {
  dir: string;
  warmupS: number;
  seconds: number;
  startServer(kind: Cell["server"], delayMs: number): Promise<SpawnedDf>;
  /** smft steady (args after `steady`) against `port`; `starved` pins it beside a busy process. */
  smft(port: number, args: string[], out: string, starved: boolean): Promise<ClientRun>;
  native(port: number, a: Omit<NativeArgs, "addr" | "ca" | "cert" | "key">): Promise<ClientRun>;
  progress(line: string): void;
}

/** A process spinning on the client's core, so that a pinned smft gets the core only in turns. */
function busyOnClientCore(): Deno.ChildProcess {
  const [cmd, args] = onCore(CLIENT_CORE, Deno.execPath(), ["eval", "for (;;) {}"]);
  return new Deno.Command(cmd, {
    args,
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Runs `cells` in order, grouped by server so that each server starts once. */
export async function runMatrix(
  cells: Cell[],
  env: MatrixEnv,
): Promise<{ results: CellResult[]; dfOutputs: string[] }> {
  const results: CellResult[] = [];
  const dfOutputs: string[] = [];
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = `${c.server}:${c.delayMs}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  for (const group of groups.values()) {
    const { server, delayMs } = group[0];
    const s = await env.startServer(server, delayMs);
    const relay = group.some((c) => c.link === "relay")
      ? await startRelay({ to: { host: "127.0.0.1", port: s.port }, delayMs: RELAY_DELAY_MS })
      : undefined;
    try {
      for (const cell of group) {
        const port = cell.link === "relay" ? relay!.port : s.port;
        const tag = cellTag(cell);
        const steal = stealSince();
        // The reference, unimpeded: once before smft and once after (matrix.ts, truthOf).
        const reference = (name: string) =>
          env.native(port, {
            mode: "steady",
            rate: cell.rate,
            durationS: env.seconds,
            warmupS: env.warmupS,
            out: join(env.dir, `${name}_${tag}.txt`),
          });
        const ref = await reference("go");
        const busy = cell.starved ? busyOnClientCore() : undefined;
        let run: ClientRun;
        try {
          run = await env.smft(
            port,
            ["--rps", String(cell.rate), "--duration", String(env.seconds)]
              .concat(["--warmup", String(env.warmupS), "--connections", String(cell.connections)])
              .concat(["--pacing", cell.pacing]),
            join(env.dir, `smft_${tag}.txt`),
            cell.starved,
          );
        } finally {
          if (busy) {
            busy.kill("SIGKILL");
            await busy.status;
          }
        }
        const ref2 = await reference("go2");
        const again = figuresOf(ref2.summary, ref2.end);
        const r: CellResult = {
          cell,
          smft: figuresOf(run.summary, run.end),
          ref: figuresOf(ref.summary, ref.end),
          ref2: again,
          steal: steal(),
          allocKbPerCall: Number(run.end.alloc_kb_per_call),
          spinsPerCall: Number(run.end.spins_per_call),
          refServer: ref.summary.df,
        };
        results.push(r);
        env.progress(
          `  ${tag}: smft p50 ${r.smft.p50.toFixed(2)} p99 ${r.smft.p99.toFixed(2)}, grpc-go p50 ${
            r.ref.p50.toFixed(2)
          } p99 ${r.ref.p99.toFixed(2)} then p50 ${again.p50.toFixed(2)} p99 ${
            again.p99.toFixed(2)
          }; ${r.smft.valid ? "VALID" : "INVALID"}`,
        );
      }
    } finally {
      await relay?.close();
      const rest = await s.stop();
      if (server === "df") dfOutputs.push(rest);
    }
  }
  return { results, dfOutputs };
}
