/**
 * CPU per call of each program, side by side in one sitting: smft against the floor of its
 * stack (a bare `node:http2` client on the same Deno, `tools/bench/floor/client.ts`; the same
 * loop on grpc-js beside it) and a native grpc-go client, all driving the grpc-go server; df
 * against the floor server and the grpc-go server, all driven by the grpc-go client. Cases run
 * interleaved, several rounds; each figure is the median. Per call: user+sys CPU from `/proc/PID/task/*` over a fixed window (by thread:
 * main, V8 GC helpers, workers (alarm, I/O probe, connections), other), context switches, and, where `perf` can count
 * syscall tracepoints, futex calls. Calls are counted by the grpc-go peer (SIGUSR1), so a
 * program that falls behind is not flattered.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DF, runArgs, SMFT } from "../programs.ts";
import { textTable } from "../../smft/shared/text_table.ts";
import { DEFAULT_PACING, type PacingMode } from "../../smft/shared/pacer.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const HZ = 100; // USER_HZ: /proc times are in clock ticks

/** Certificates and binaries the cases need. */
export interface CpuBenchSetup {
  certs: { ca: string; serverCrt: string; serverKey: string; clientCrt: string; clientKey: string };
  goClient: string;
  goServer: string;
  /** Folder for results files. */
  dir: string;
}

/** One program's cost per call. */
export interface CpuRow {
  side: "client" | "server";
  program: string;
  rate: number;
  /** Median µs of CPU per call, in all and by thread group. */
  cpuUs: number;
  byThread: Record<string, number>;
  /** Context switches per call (voluntary + not). */
  switches: number;
  /** futex system calls per call; undefined where perf cannot count them. */
  futex?: number;
}

interface Proc {
  argv: string[];
  env?: Record<string, string>;
}

interface Case {
  side: "client" | "server";
  program: string;
  server: (port: number) => Proc;
  client: (run: ClientCall) => Proc;
  /** The process whose cost is measured, and the grpc-go one that counts calls. */
  measured: "client" | "server";
}

/** What a case's client is asked to do: call the server on `port` at `rate`/s for `seconds`. */
interface ClientCall {
  port: number;
  rate: number;
  seconds: number;
}

type Snap = Map<string, { group: string; cpu: number; switches: number }>;

function group(comm: string, tid: number, pid: number): string {
  if (tid === pid) return "main";
  if (comm.startsWith("V8 ")) return "gc";
  // Deno names every Worker thread worker-<n>: the alarm, the I/O probe, and connections.
  if (/^worker-\d+/.test(comm)) return "workers";
  return "other";
}

function snap(pid: number): Snap {
  const out: Snap = new Map();
  for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const base = `/proc/${pid}/task/${e.name}`;
      const stat = Deno.readTextFileSync(`${base}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const status = Deno.readTextFileSync(`${base}/status`);
      const cs = [...status.matchAll(/ctxt_switches:\s+(\d+)/g)].reduce((a, m) => a + +m[1], 0);
      out.set(e.name, {
        group: group(Deno.readTextFileSync(`${base}/comm`).trim(), Number(e.name), pid),
        cpu: (Number(f[11]) + Number(f[12])) / HZ,
        switches: cs,
      });
    } catch { /* the thread ended */ }
  }
  return out;
}

async function futexCount(pid: number, seconds: number): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("perf", {
      args: ["stat", "-x", ",", "-e", "syscalls:sys_enter_futex", "-p", String(pid), "--"]
        .concat(["sleep", String(seconds)]),
      stdout: "null",
      stderr: "piped",
    }).output();
    const n = Number(new TextDecoder().decode(out.stderr).split(",")[0]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function spawn(p: Proc): { child: Deno.ChildProcess; out: { text: string; err: string } } {
  const child = new Deno.Command(p.argv[0], {
    args: p.argv.slice(1),
    env: p.env,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = { text: "", err: "" };
  const dec = new TextDecoder();
  (async () => {
    for await (const c of child.stdout) out.text = (out.text + dec.decode(c)).slice(-20_000);
  })();
  (async () => {
    for await (const c of child.stderr) out.err = (out.err + dec.decode(c)).slice(-20_000);
  })();
  return { child, out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The row name of smft's or df's case (`smft`, `smft spin`, `smft 2 conns`; the default pacing
 * unnamed): the targets look rows up by it.
 */
export function caseName(
  program: "smft" | "df",
  pacing: PacingMode,
  connections = 1,
): string {
  return `${program}${connections > 1 ? ` ${connections} conns` : ""}${
    pacing === DEFAULT_PACING ? "" : ` ${pacing}`
  }`;
}

/** The six programs, as cases. */
function cpuCases(s: CpuBenchSetup): Case[] {
  const c = s.certs;
  const deno = Deno.execPath();
  const goServer = (port: number): Proc => ({
    argv: [
      s.goServer,
      "-port",
      String(port),
      "-ca",
      c.ca,
      "-cert",
      c.serverCrt,
      "-key",
      c.serverKey,
    ],
  });
  const goClient = ({ port, rate, seconds }: ClientCall): Proc => ({
    argv: [s.goClient, "-mode", "steady", "-addr", `127.0.0.1:${port}`, "-servername", "localhost"]
      .concat(["-ca", c.ca, "-cert", c.clientCrt, "-key", c.clientKey, "-rate", String(rate)])
      .concat([
        "-duration",
        String(seconds),
        "-warmup",
        "0",
        "-out",
        join(s.dir, `go-${port}.txt`),
      ]),
  });
  const tlsEnv = (crt: string, key: string) => ({ TLS_CA: c.ca, TLS_CERT: crt, TLS_KEY: key });
  return [
    {
      side: "client",
      program: "grpc-go client",
      server: goServer,
      client: goClient,
      measured: "client",
    },
    // The floor paced by smft's `wake` shows what precise sends cost on their own; the same
    // loop on grpc-js, what smft's own client saves.
    ...([["timeout", "h2"], ["wake", "h2"], ["timeout", "grpc-js"]] as const).map((
      [pacing, lib],
    ): Case => ({
      side: "client",
      program: lib === "grpc-js"
        ? "grpc-js loop"
        : pacing === "wake"
        ? "floor, wake pacing"
        : "floor (node:http2)",
      server: goServer,
      measured: "client",
      client: ({ port, rate, seconds }) => ({
        argv: [deno, "run", "-A", "tools/bench/floor/client.ts", "--port", String(port)]
          .concat(["--rate", String(rate), "--duration", String(seconds), "--warmup", "0"])
          .concat(["--ca", c.ca, "--cert", c.clientCrt, "--key", c.clientKey])
          .concat(["--pacing", pacing, "--client", lib]),
      }),
    })),
    ...([[1, DEFAULT_PACING], [1, "spin"], [2, DEFAULT_PACING]] as const).map((
      [n, pacing],
    ): Case => ({
      side: "client",
      program: caseName("smft", pacing, n),
      server: goServer,
      measured: "client",
      client: ({ port, rate, seconds }) => ({
        argv: [deno, ...runArgs(SMFT), "steady", "--quiet", "--overwrite"],
        env: {
          ...tlsEnv(c.clientCrt, c.clientKey),
          DF_HOST: "127.0.0.1",
          TLS_SERVER_NAME: "localhost",
          DF_PORT: String(port),
          N_RPS: String(rate),
          N_CONNECTIONS: String(n),
          PACING: pacing,
          T_DURATION_SEC: String(seconds),
          T_WARMUP_SEC: "0",
          RESULTS_FILE: join(s.dir, `smft-${port}.txt`),
        },
      }),
    })),
    {
      side: "server",
      program: "grpc-go server",
      server: goServer,
      client: goClient,
      measured: "server",
    },
    {
      side: "server",
      program: "floor (grpc-js)",
      client: goClient,
      measured: "server",
      server: (port) => ({
        argv: [
          deno,
          "run",
          "-A",
          "tools/bench/floor/server.ts",
          "--port",
          String(port),
          "--delay-ms",
          "5",
        ]
          .concat(["--ca", c.ca, "--cert", c.serverCrt, "--key", c.serverKey]),
      }),
    },
    ...([DEFAULT_PACING, "spin"] as const).map((pacing): Case => ({
      side: "server",
      program: caseName("df", pacing),
      client: goClient,
      measured: "server",
      server: (port) => ({
        argv: [deno, ...runArgs(DF)],
        env: {
          ...tlsEnv(c.serverCrt, c.serverKey),
          DF_HOST: "127.0.0.1",
          DF_PORT: String(port),
          DELAY_MS: "5",
          DF_PACING: pacing,
        },
      }),
    })),
  ];
}

/** Runs one case once and returns its figures per call over the window. */
async function measureOnce(
  cs: Case,
  { rate, port, warmupS, windowS }: {
    rate: number;
    port: number;
    warmupS: number;
    windowS: number;
  },
): Promise<Omit<CpuRow, "side" | "program" | "rate">> {
  const server = spawn(cs.server(port));
  try {
    for (let i = 0; i < 200 && !/listening/i.test(server.out.text); i++) await sleep(50);
    const client = spawn(cs.client({ port, rate, seconds: warmupS + windowS + 3 }));
    try {
      await sleep(warmupS * 1000);
      const measured = cs.measured === "client" ? client : server;
      const counter = cs.measured === "client" ? server : client;
      const count = async () => {
        counter.child.kill("SIGUSR1");
        await sleep(30);
        const m = [...counter.out.err.matchAll(/\{"(?:calls|completed)":(\d+)\}/g)].at(-1);
        return m ? Number(m[1]) : NaN;
      };
      const pid = measured.child.pid;
      const n0 = await count();
      const s0 = snap(pid);
      const futex = futexCount(pid, windowS);
      await sleep(windowS * 1000);
      const s1 = snap(pid);
      const n1 = await count();
      const calls = Number.isFinite(n1 - n0) && n1 > n0 ? n1 - n0 : rate * windowS;
      const byThread: Record<string, number> = {};
      let cpu = 0, switches = 0;
      for (const [tid, b] of s1) {
        const a = s0.get(tid) ?? { cpu: 0, switches: 0 };
        const us = (b.cpu - a.cpu) * 1e6 / calls;
        byThread[b.group] = (byThread[b.group] ?? 0) + us;
        cpu += us;
        switches += (b.switches - a.switches) / calls;
      }
      const f = await futex;
      return { cpuUs: cpu, byThread, switches, futex: f === undefined ? undefined : f / calls };
    } finally {
      client.child.kill("SIGTERM");
      await client.child.status;
    }
  } finally {
    server.child.kill("SIGTERM");
    const t = setTimeout(() => server.child.kill("SIGKILL"), 5000);
    await server.child.status;
    clearTimeout(t);
  }
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
    ? s[s.length >> 1]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Every case at every rate, interleaved (rounds outside), medians per case. */
export async function cpuPerCall(
  s: CpuBenchSetup,
  o: {
    rates: number[];
    rounds: number;
    warmupS: number;
    windowS: number;
    log?: (s: string) => void;
  },
): Promise<CpuRow[]> {
  const cases = cpuCases(s);
  const runs = new Map<string, Omit<CpuRow, "side" | "program" | "rate">[]>();
  let port = 51000 + Math.floor(Math.random() * 2000);
  for (let r = 0; r < o.rounds; r++) {
    for (const rate of o.rates) {
      for (const cs of cases) {
        const m = await measureOnce(cs, {
          rate,
          port: ++port,
          warmupS: o.warmupS,
          windowS: o.windowS,
        });
        o.log?.(
          `  round ${r + 1}: ${cs.side} ${cs.program} at ${rate}/s: ${m.cpuUs.toFixed(0)} µs/call`,
        );
        const key = `${cs.side}\0${cs.program}\0${rate}`;
        runs.set(key, [...(runs.get(key) ?? []), m]);
      }
    }
  }
  return [...runs.entries()].map(([key, ms]) => {
    const [side, program, rate] = key.split("\0");
    const groups = [...new Set(ms.flatMap((m) => Object.keys(m.byThread)))];
    return {
      side: side as CpuRow["side"],
      program,
      rate: Number(rate),
      cpuUs: median(ms.map((m) => m.cpuUs)),
      byThread: Object.fromEntries(
        groups.map((g) => [g, median(ms.map((m) => m.byThread[g] ?? 0))]),
      ),
      switches: median(ms.map((m) => m.switches)),
      futex: ms.every((m) => m.futex !== undefined) ? median(ms.map((m) => m.futex!)) : undefined,
    };
  });
}

/** The figures as one table per side, with ratios to the native program and to the floor. */
export function formatCpuTable(rows: CpuRow[]): string {
  const out: string[] = [];
  for (const side of ["client", "server"] as const) {
    // "workers": every Worker thread (the alarm, the I/O probe, and with --connections the connections).
    const head = [
      "rate/s",
      side,
      "µs/call",
      "× native",
      "× floor",
      "main",
      "gc",
      "workers",
      "other",
    ]
      .concat(["ctx sw", "futex"]);
    const table = [head];
    for (const r of rows.filter((x) => x.side === side)) {
      const native = rows.find((x) =>
        x.side === side && x.rate === r.rate && x.program.startsWith("grpc-go")
      );
      const floor = rows.find((x) =>
        x.side === side && x.rate === r.rate && x.program.startsWith("floor")
      );
      const t = (k: string) => (r.byThread[k] ?? 0).toFixed(0);
      table.push([
        String(r.rate),
        r.program,
        r.cpuUs.toFixed(0),
        native ? (r.cpuUs / native.cpuUs).toFixed(2) : "-",
        floor ? (r.cpuUs / floor.cpuUs).toFixed(2) : "-",
        t("main"),
        t("gc"),
        t("workers"),
        t("other"),
        r.switches.toFixed(2),
        r.futex === undefined ? "-" : r.futex.toFixed(2),
      ]);
    }
    out.push(textTable(table, { left: [1] }));
  }
  return out.join("\n\n");
}
