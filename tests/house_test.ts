/**
 * The house rules, checked on the source: imports point one way (proto and certs are leaves;
 * df uses from smft only `smft/shared/`, whose modules import nothing but proto and certs; smft
 * never imports df or tools; tools may use everything below it).
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "./helpers.ts";

const FOLDERS = ["proto", "certs", "df", "smft", "tools"];

/** Repository-relative paths of every TypeScript source file (tests included). */
async function sources(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(ROOT, dir))) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".ts")) out.push(p);
    }
  };
  for (const f of [...FOLDERS, "tests"]) await walk(f);
  return out.sort();
}

/** The repository files a source imports (static and dynamic imports with a relative path). */
export function relativeImports(path: string, text: string): string[] {
  const re = /(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g;
  return [...text.matchAll(re)].map((m) => normalize(join(dirname(path), m[1])));
}

/** The rule an import from `from` to `to` breaks, or undefined. */
export function brokenRule(from: string, to: string): string | undefined {
  const top = (p: string) => p.split("/")[0];
  const a = top(from);
  const b = top(to);
  if (a === b && !from.startsWith("smft/shared/")) return undefined;
  if (a === "tests") return undefined;
  if (a === "proto" || a === "certs") {
    return b === "proto" || b === "certs" ? undefined : `${a}/ is a leaf: it imports no program`;
  }
  if (from.startsWith("smft/shared/")) {
    return b === "proto" || b === "certs" || to.startsWith("smft/shared/")
      ? undefined
      : "smft/shared/ modules import nothing but proto/, certs/ and each other";
  }
  if (a === "df") {
    return b === "proto" || b === "certs" || to.startsWith("smft/shared/")
      ? undefined
      : "df/ uses only proto/, certs/ and smft/shared/";
  }
  if (a === "smft") {
    return b === "proto" || b === "certs" ? undefined : "smft/ never imports df/ or tools/";
  }
  if (a === "tools") return b === "tests" ? "tools/ never imports tests/" : undefined;
  return undefined;
}

Deno.test("brokenRule() names each direction the house forbids and allows the rest", () => {
  const cases: [string, string, boolean][] = [
    ["smft/steady.ts", "df/server.ts", true],
    ["smft/cli.ts", "tools/summarize.ts", true],
    ["df/hold.ts", "smft/shared/pacer.ts", false],
    ["df/hold.ts", "smft/steady.ts", true],
    ["certs/tls.ts", "smft/shared/layered_config.ts", true],
    ["smft/shared/layered_config.ts", "certs/tls.ts", false],
    ["smft/shared/layered_config.ts", "smft/option_table.ts", true],
    ["tools/report/command.ts", "smft/summary.ts", false],
    ["tools/main.ts", "smft/cli.ts", false],
    ["proto/score.ts", "df/server.ts", true],
  ];
  for (const [from, to, broken] of cases) {
    assert.equal(brokenRule(from, to) !== undefined, broken, `${from} -> ${to}`);
  }
});

Deno.test("every import in the repository follows the house's one direction", async () => {
  const broken: string[] = [];
  for (const path of await sources()) {
    const text = await Deno.readTextFile(join(ROOT, path));
    for (const to of relativeImports(path, text)) {
      const rule = brokenRule(path, relative(".", to));
      if (rule) broken.push(`${path} imports ${to}: ${rule}`);
    }
  }
  assert.deepEqual(broken, []);
});

/** One job per module: a product source file over this many lines is doing too much. */
const MAX_SOURCE_LINES = 450;

Deno.test("no product source file (tests and their scaffolding aside) is over 450 lines", async () => {
  const out = new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.js", "*.go"],
    cwd: ROOT,
    stdout: "piped",
  }).outputSync();
  const files = new TextDecoder().decode(out.stdout).split("\n")
    .filter((f) =>
      f && !f.endsWith("_test.ts") && !f.startsWith("scratch/") && !f.startsWith("tests/")
    );
  assert.ok(files.length > 50, `${files.length} source files found`);
  const long: string[] = [];
  for (const f of files) {
    const n = (await Deno.readTextFile(join(ROOT, f))).split("\n").length;
    if (n > MAX_SOURCE_LINES) long.push(`${f}: ${n} lines`);
  }
  assert.deepEqual(long, []);
});
