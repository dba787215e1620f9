/**
 * Where a program's CPU goes: splits the self time of a V8 `.cpuprofile` (`deno run
 * --cpu-prof`) by origin (the figure issue 10's closing notes quote):
 *
 * - `gc`: "(garbage collector)"; `native`: "(program)" and frames with no URL (V8, Deno's Rust
 *   ops: sockets, TLS, HTTP/2 bindings); `idle` is left out of the busy total;
 * - `grpc-js`, `other npm`: npm packages; `polyfills`: Deno's `ext:`/`node:` modules;
 * - `project`: this repository's files.
 *
 *   deno run --allow-read tools/bench/cpu_profile.ts FILE.cpuprofile... [--top 20] [--json]
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The parts of a `.cpuprofile` this reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Origin of one frame, and the module inside it (pure). */
export function origin(f: { functionName: string; url: string }): [string, string] {
  const { functionName: fn, url } = f;
  if (fn === "(garbage collector)") return ["gc", "gc"];
  if (fn === "(idle)") return ["idle", "idle"];
  if (fn === "(root)") return ["root", "root"];
  if (fn === "(program)") return ["native", "(program)"];
  if (/@grpc[/+]grpc-js/.test(url)) return ["grpc-js", url.replace(/.*grpc-js\/[^/]+\//, "")];
  if (/registry\.npmjs\.org|node_modules/.test(url)) {
    return ["other npm", url.replace(/.*registry\.npmjs\.org\/([^/]+(\/[^/@]+)?).*/, "$1")];
  }
  if (url.startsWith("ext:") || url.startsWith("node:")) return ["polyfills", url];
  if (url.startsWith("file://")) {
    // The last of these folders in the path: a parent folder may have one of their names too.
    return [
      "project",
      url.replace(
        /^file:\/\/.*\/(smft|df|certs|proto|tools)\/(?!.*\/(?:smft|df|certs|proto|tools)\/)/,
        "$1/",
      ),
    ];
  }
  if (url === "") return ["native", fn || "(anonymous)"];
  return ["other", url];
}

/** A profile's busy time by origin and by module, and its top functions (pure). */
export interface ProfileSplit {
  busyMs: number;
  idleMs: number;
  /** Share of busy time, %, largest first. */
  groups: [string, number][];
  modules: [string, number][];
  functions: [string, number][];
}

/** Splits self time by origin. */
export function splitProfile(p: CpuProfile): ProfileSplit {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const groups = new Map<string, number>();
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let busy = 0, idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const [g, mod] = origin(n.callFrame);
    if (g === "idle") {
      idle += us;
      continue;
    }
    busy += us;
    add(groups, g, us);
    add(modules, `${g}: ${mod}`, us);
    add(
      functions,
      `${n.callFrame.functionName || "(anonymous)"} ${mod}:${n.callFrame.lineNumber + 1}`,
      us,
    );
  }
  const share = (m: Map<string, number>): [string, number][] =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, busy > 0 ? (100 * us) / busy : 0]);
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    groups: share(groups),
    modules: share(modules),
    functions: share(functions),
  };
}

const USAGE =
  `Usage: deno run --allow-read tools/bench/cpu_profile.ts FILE.cpuprofile... [--top N] [--json]

Splits the self time of V8 CPU profiles (deno run --cpu-prof) by origin: gc, native (V8 and
Deno's Rust ops), polyfills (Deno's node: modules), grpc-js, other npm, project; then by module
and the top functions (--top, default 20). --json prints one line per file with the groups.`;

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        top: { type: "string", default: "20" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    console.error(`cpu_profile: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    Deno.exit(values.help ? 0 : 2);
  }
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 0) {
    console.error(`cpu_profile: --top ${values.top}: expected a whole number, e.g. --top 20`);
    Deno.exit(2);
  }
  for (const file of positionals) {
    let split: ProfileSplit;
    try {
      split = splitProfile(JSON.parse(Deno.readTextFileSync(file)) as CpuProfile);
    } catch (e) {
      console.error(`cpu_profile: ${file}: not a readable .cpuprofile (${(e as Error).message})`);
      Deno.exit(1);
    }
    const pct = (v: number) => `${v.toFixed(1).padStart(5)} %`;
    if (values.json) {
      const groups = Object.fromEntries(split.groups.map(([k, v]) => [k, +v.toFixed(1)]));
      console.log(JSON.stringify({ file, busy_ms: split.busyMs, idle_ms: split.idleMs, groups }));
      continue;
    }
    console.log(`${file}: busy ${split.busyMs.toFixed(0)} ms, idle ${split.idleMs.toFixed(0)} ms`);
    for (const [g, v] of split.groups) console.log(`  ${pct(v)}  ${g}`);
    console.log("  by module:");
    for (const [m, v] of split.modules.slice(0, top)) console.log(`  ${pct(v)}  ${m}`);
    console.log("  top functions (self time):");
    for (const [f, v] of split.functions.slice(0, top)) console.log(`  ${pct(v)}  ${f}`);
  }
}
