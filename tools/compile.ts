/**
 * `deno task compile`: builds `dist/df` and `dist/smft`, single binaries for the hosts of a
 * test. Each carries exactly the permissions its program needs and embeds `proto/score.proto`.
 * Settings are read at run time from the environment and `.env` in the working folder (or
 * `--env-file`): nothing of the developer's `.env` is baked in.
 *
 * `deno compile` needs the Deno runtime (`denort`) for the target. It downloads it from the Deno
 * download site unless `DENORT_BIN` names a local copy or `$DENO_DIR` already holds
 * `dl/release/v<version>/denort-<target>.zip`. Where none of these is available, this task says so
 * in one line.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { stripVTControlCharacters as stripAnsiCode } from "node:util";
import { DF, type Program, SMFT, V8_FLAGS } from "./programs.ts";
import { withNearestFlag } from "../smft/shared/layered_config.ts";

/** Targets `deno compile` accepts. */
const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
];

/** The binaries, with the permissions and V8 flags written into them. */
export const BINARIES: Program[] = [DF, SMFT];

/** The `deno compile` arguments for one binary (pure, for tests and `--dry-run`). */
export function compileArgs(
  b: Program,
  outDir: string,
  target?: string,
): string[] {
  const windows = target?.includes("windows") ?? Deno.build.os === "windows";
  return [
    "compile",
    "--quiet",
    ...b.permissions,
    V8_FLAGS,
    ...b.includes.flatMap((f) => ["--include", f]),
    ...(target ? ["--target", target] : []),
    "--output",
    join(outDir, windows ? `${b.name}.exe` : b.name),
    b.entry,
  ];
}

/** The one line printed when the runtime could not be had. */
export function missingRuntimeLine(target: string): string {
  return `compile: deno compile needs the Deno runtime denort-${target} (v${Deno.version.deno}) ` +
    `and could not download it from ${denortUrl(target)}; fetch it elsewhere and provide it ` +
    `offline with DENORT_BIN=/path/to/denort (unzipped), or put denort-${target}.zip in ` +
    `$DENO_DIR/dl/release/v${Deno.version.deno}/`;
}

/** Where `deno compile` downloads the runtime archive of a target from (the Deno download site). */
export function denortUrl(target: string): string {
  return `https://dl.deno.land/release/v${Deno.version.deno}/denort-${target}.zip`;
}

const USAGE = `Usage: deno task compile [--target TRIPLE] [--out DIR] [--only df|smft] [--dry-run]

Builds dist/df and dist/smft. Targets: ${TARGETS.join(", ")} (default: this host).
deno compile needs the runtime (denort) for the target: it is downloaded from the Deno download
site, or taken from DENORT_BIN=/path/to/denort, or from a pre-seeded
$DENO_DIR/dl/release/v${Deno.version.deno}/denort-<target>.zip.`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        target: { type: "string" },
        out: { type: "string", default: "dist" },
        only: { type: "string" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(
      `compile: ${
        withNearestFlag((e as Error).message, ["target", "out", "only", "dry-run", "help"])
      }`,
    );
    return 1;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const target = values.target;
  if (target && !TARGETS.includes(target)) {
    console.error(`compile: --target ${target}: expected one of ${TARGETS.join(", ")}`);
    return 1;
  }
  const hostTarget = `${Deno.build.arch}-${
    Deno.build.os === "linux"
      ? "unknown-linux-gnu"
      : Deno.build.os === "darwin"
      ? "apple-darwin"
      : "pc-windows-msvc"
  }`;
  const effective = target ?? hostTarget;
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    // The full deno CLI is not a runtime: a binary built on it runs the CLI, not the program.
    // A missing file throws from output() itself, before any promise: hence try, not .catch.
    let probe: Deno.CommandOutput;
    try {
      probe = await new Deno.Command(denort, {
        args: ["--version"],
        stdout: "piped",
        stderr: "null",
      }).output();
    } catch (e) {
      console.error(`compile: DENORT_BIN=${denort}: cannot run it (${(e as Error).name})`);
      return 1;
    }
    if (new TextDecoder().decode(probe.stdout).startsWith("deno ")) {
      console.error(`compile: DENORT_BIN=${denort} is the deno CLI, not the denort runtime`);
      return 1;
    }
  }
  const only = values.only;
  if (only !== undefined && !BINARIES.some((b) => b.name === only)) {
    console.error(`compile: --only ${only}: expected df or smft`);
    return 1;
  }
  const root = fileURLToPath(new URL("..", import.meta.url));
  for (const b of BINARIES.filter((b) => only === undefined || b.name === only)) {
    const args = compileArgs(b, values.out!, target);
    if (values["dry-run"]) {
      console.log(`deno ${args.join(" ")}`);
      continue;
    }
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!r.success) {
      const err = new TextDecoder().decode(r.stderr);
      if (/dl\.deno\.land|denort|Download/i.test(err) && !denort) {
        console.error(missingRuntimeLine(effective));
      } else {
        const last = err.split("\n").map((l) => stripAnsiCode(l).trim())
          .filter((l) => l && !/^\d+:|^at |Stack backtrace/.test(l));
        console.error(`compile: ${b.name}: ${last.slice(0, 3).join(" ")}`);
      }
      return 1;
    }
    console.log(`compile: wrote ${join(values.out!, b.name)} (${effective})`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
