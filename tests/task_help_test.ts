/**
 * Every task answers `--help` and changes nothing (issue 28): `deno task demo --help` once ran
 * the whole demo and moved the earlier results aside. Each task's own command from `deno.json`
 * is run with `--help` in an empty folder, which must stay empty.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, run } from "./helpers.ts";

const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks as Record<
  string,
  { command: string }
>;

/** `check` runs fmt, lint and the type check before `deno task test`, which is checked itself. */
const NOT_RUN = new Set(["check"]);

for (const [name, { command }] of Object.entries(tasks)) {
  if (NOT_RUN.has(name)) continue;
  Deno.test(`deno task ${name} --help prints its usage, exits 0 and writes nothing`, async () => {
    const [deno, sub, ...rest] = command.split(" ");
    assert.equal(deno, "deno", command);
    // The entry made absolute, so that the task runs in an empty folder of its own.
    const args = rest.map((a) => /^[\w/]+\.ts$/.test(a) ? join(ROOT, a) : a);
    const dir = await Deno.makeTempDir({ prefix: "task-help-" });
    try {
      const r = await run(
        [sub, "--config", join(ROOT, "deno.json"), ...args, "--help"],
        {},
        { cwd: dir },
      );
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /usage/i, r.stdout);
      const left = [];
      for await (const e of Deno.readDir(dir)) left.push(e.name);
      assert.deepEqual(left, [], "nothing written");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
