/**
 * One host of one core each (issue 26): the server pinned to one core, the client to the other
 * (`taskset`), as two small hosts would be. smft runs beside the grpc-go client, and the grpc-js
 * floor, over a ladder of rates against the grpc-go server, which gives the highest VALID rate per
 * core; df runs beside the grpc-go server, both driven by the grpc-go client. `runOneCore` runs
 * them through the bench's own launchers; the rest is pure.
 *
 * @module
 */
import { join } from "node:path";
import type { ClientRun } from "./calibrate.ts";
import { f2OrDash } from "./table.ts";
import { textTable } from "../../smft/shared/text_table.ts";
import { ratio } from "./targets.ts";

/** The cores: the server's and the client's. */
export const SERVER_CORE = 1, CLIENT_CORE = 0;

/** What the section measured, by rate. */
export interface OneCoreResults {
  /** smft and the grpc-go client (and the floor's p99) against the grpc-go server. */
  clients: Map<number, { smft: ClientRun; go: ClientRun; floorP99?: number }>;
  /** df and the grpc-go server, driven by the grpc-go client. */
  servers: Map<number, { df: ClientRun; go: ClientRun }>;
}

/** A client's run against the server on `port`, at `rate`/s. */
export interface OneCoreCall {
  port: number;
  rate: number;
}

/** How the section starts servers and runs clients (the bench's own launchers, pinned). */
export interface OneCoreEnv {
  ladder: number[];
  startServer(kind: "df" | "grpc-go"): Promise<{ port: number; stop(): Promise<unknown> }>;
  goClient(run: OneCoreCall & { out: string }): Promise<ClientRun>;
  smft(run: OneCoreCall & { out: string }): Promise<ClientRun>;
  floorP99(run: OneCoreCall): Promise<number>;
  dir: string;
  progress(line: string): void;
}

/** Runs the section. */
export async function runOneCore(env: OneCoreEnv): Promise<OneCoreResults> {
  const out: OneCoreResults = { clients: new Map(), servers: new Map() };
  const s = await env.startServer("grpc-go");
  try {
    for (const rate of env.ladder) {
      const go = await env.goClient({
        port: s.port,
        rate,
        out: join(env.dir, `core_go_${rate}.txt`),
      });
      const smft = await env.smft({
        port: s.port,
        rate,
        out: join(env.dir, `core_smft_${rate}.txt`),
      });
      // The floor (a bare node:http2 loop on this Deno) shows what the stack itself does here.
      const floorP99 = [1000, 2000].includes(rate)
        ? await env.floorP99({ port: s.port, rate })
        : undefined;
      out.clients.set(rate, { smft, go, floorP99 });
      env.progress(`  one core, client ${rate}/s done`);
    }
  } finally {
    await s.stop();
  }
  for (const rate of [1000, 2000]) {
    const runs: Partial<{ df: ClientRun; go: ClientRun }> = {};
    for (const kind of ["grpc-go", "df"] as const) {
      const server = await env.startServer(kind);
      try {
        const file = join(env.dir, `core_server_${kind}_${rate}.txt`);
        runs[kind === "df" ? "df" : "go"] = await env.goClient({
          port: server.port,
          rate,
          out: file,
        });
      } finally {
        await server.stop();
      }
    }
    out.servers.set(rate, runs as { df: ClientRun; go: ClientRun });
  }
  return out;
}

/**
 * The highest rate of the ladder at which smft was VALID, and at which the grpc-go client kept
 * its schedule (rate within 1 %, lag p99 <= 1 ms); each counts only while every lower rate also
 * passed (pure).
 */
export function highestValid(
  runs: OneCoreResults["clients"],
): { smft?: number; go?: number } {
  const out: { smft?: number; go?: number } = {};
  let smftOk = true, goOk = true;
  for (const [rate, r] of [...runs].sort((a, b) => a[0] - b[0])) {
    smftOk &&= r.smft.end.valid === true;
    const achieved = Number(r.go.end.achieved_rps);
    goOk &&= (!Number.isFinite(achieved) || achieved >= 0.99 * rate) &&
      (r.go.summary.lag?.p99 ?? Infinity) <= 1;
    if (smftOk) out.smft = rate;
    if (goOk) out.go = rate;
  }
  return out;
}

/** The section's tables and its highest-rate line (pure). */
export function formatOneCore(r: OneCoreResults): string {
  const rows = [[
    "rate/s",
    "smft verdict",
    "smft p50 / p99",
    "grpc-go client p50 / p99",
    "p99 ratio",
    "floor (node:http2) p99",
    "smft own delay p99 (send / read)",
    "host pressure",
  ]];
  for (const [rate, c] of r.clients) {
    const s = c.smft.summary, g = c.go.summary;
    rows.push([
      String(rate),
      c.smft.end.valid ? "VALID" : "INVALID",
      `${f2OrDash(s.latency?.p50)} / ${f2OrDash(s.latency?.p99)}`,
      `${f2OrDash(g.latency?.p50)} / ${f2OrDash(g.latency?.p99)}`,
      ratio(s.latency?.p99, g.latency?.p99),
      f2OrDash(c.floorP99),
      `${f2OrDash(s.ownDelay?.sendP99)} / ${f2OrDash(s.ownDelay?.readP99)}`,
      `${f2OrDash(Number(c.smft.end.host_cpu_pressure_pct))} %`,
    ]);
  }
  const best = highestValid(r.clients);
  const srows = [["rate/s", "df p50 / p99", "grpc-go server p50 / p99", "p50 +", "p99 ratio"]];
  for (const [rate, s] of r.servers) {
    const d = s.df.summary.latency, g = s.go.summary.latency;
    srows.push([
      String(rate),
      `${f2OrDash(d?.p50)} / ${f2OrDash(d?.p99)}`,
      `${f2OrDash(g?.p50)} / ${f2OrDash(g?.p99)}`,
      d && g ? `${(d.p50 - g.p50).toFixed(2)} ms` : "-",
      ratio(d?.p99, g?.p99),
    ]);
  }
  return [
    textTable(rows, { left: [0] }),
    `highest rate on one core: smft VALID up to ${best.smft ?? "none"}/s; the grpc-go client ` +
    `kept its schedule (rate within 1 %, lag p99 <= 1 ms) up to ${best.go ?? "none"}/s ` +
    `(of ${[...r.clients.keys()].join(", ")}/s)`,
    `the server on one core, driven by the grpc-go client on the other:`,
    textTable(srows, { left: [0] }),
  ].join("\n");
}
