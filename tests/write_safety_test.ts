/**
 * Issue 30: what the programs write never destroys what was there. `report --out` refuses its
 * own inputs and any results file, and writes through a temporary file renamed into place (a
 * full disk leaves the earlier page whole). Real processes, real files, a real tmpfs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { run, startDfProcess, startSmft, tempResults } from "./helpers.ts";

/** `report` as the task runs it (read and write permissions only). */
const REPORT = ["run", "--allow-read", "--allow-write", "tools/main.ts", "report"];

const RESULTS = [
  "#TEST=01_steady",
  ...Array.from(
    { length: 50 },
    (_, i) =>
      JSON.stringify({ ok: true, latency_ms: 5 + i / 10, service_ms: 5, lag_ms: 0, t_ms: i * 10 }),
  ),
  "",
].join("\n");

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "write-safety-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  return lines[0];
}

Deno.test("report --out never writes over one of its inputs or another results file", async (t) => {
  await withDir(async (dir) => {
    const a = join(dir, "a.txt");
    const b = join(dir, "b.txt");
    await Deno.writeTextFile(a, RESULTS);
    await Deno.writeTextFile(b, RESULTS);
    await Deno.symlink(a, join(dir, "link.html"));
    for (
      const [name, out, why] of [
        ["its own input", a, /is one of the input files/],
        ["its input through a link", join(dir, "link.html"), /is one of the input files/],
        ["another results file", b, /holds a results file/],
        ["a folder", dir, /is a folder/],
      ] as const
    ) {
      await t.step(name, async () => {
        const r = await run([...REPORT, a, "--out", out]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(oneLine(r.stderr), why);
        assert.equal(await Deno.readTextFile(a), RESULTS, "the input is whole");
        assert.equal(await Deno.readTextFile(b), RESULTS, "the other results file is whole");
      });
    }
    await t.step("an earlier page is replaced, and no temporary file is left", async () => {
      const out = join(dir, "page.html");
      await Deno.writeTextFile(out, "<p>earlier</p>");
      const r = await run([...REPORT, a, "--out", out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(await Deno.readTextFile(out), /^<!DOCTYPE html>/i);
      const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(names, ["a.txt", "b.txt", "link.html", "page.html"]);
    });
  });
});

Deno.test("report on a full disk fails in one line and leaves the earlier page whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "write-safety-tmpfs-" });
  const m = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=32k", "tmpfs", dir],
    stderr: "piped",
  }).output().catch(() => undefined);
  if (!m?.success) {
    console.log("  skipped: mount tmpfs not permitted");
    await Deno.remove(dir);
    return;
  }
  try {
    await withDir(async (inputs) => {
      const a = join(inputs, "a.txt");
      await Deno.writeTextFile(a, RESULTS);
      const out = join(dir, "page.html");
      const earlier = "<p>earlier page</p>\n".repeat(200);
      await Deno.writeTextFile(out, earlier);
      // The page (~80 KB with its inlined chart library) cannot fit in 32 KiB.
      const r = await run([...REPORT, a, "--out", out]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(oneLine(r.stderr), /cannot write \(No space left on device/);
      assert.equal(await Deno.readTextFile(out), earlier, "the earlier page is whole");
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["page.html"]);
    });
  } finally {
    await new Deno.Command("umount", { args: [dir] }).output().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/** Whole result lines in a `.partial` (a line cut by the kill is not counted). */
async function resultLines(partial: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(partial);
  const lines = text.split("\n").slice(0, -1);
  assert.match(lines[0], /^#TEST=/);
  assert.ok(lines[1]?.startsWith("#META="), "#META is on disk before the first call");
  return lines.slice(2).map((l) => JSON.parse(l));
}

Deno.test("a SIGKILL loses at most about a second of result lines (steady and coldconn)", async (t) => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const dir = await tempResults();
  try {
    for (
      const [test, args, rate] of [
        ["steady", ["steady", "--rps", "100", "--duration", "30", "--warmup", "1"], 100],
        ["coldconn", ["coldconn", "--rps", "5", "--duration", "30"], 5],
      ] as const
    ) {
      await t.step(test, async () => {
        const out = join(dir, `${test}.txt`);
        const smft = await startSmft([...args, "--out", out, "--quiet"], {
          DF_PORT: String(df.port),
        });
        try {
          await smft.waitFor(/measuring at/, "stderr", 30_000);
          // Killed ~2.5 s into measurement: ~2.5 s of results are due, at most ~1 s may be lost.
          await new Promise((r) => setTimeout(r, 2500));
        } finally {
          await smft.stop("SIGKILL");
        }
        const lines = await resultLines(`${out}.partial`);
        assert.ok(
          lines.length >= rate,
          `${lines.length} result lines after ~2.5 s at ${rate}/s (at least ${rate} expected)`,
        );
        assert.ok(lines.every((l) => typeof l.ok === "boolean"));
        console.log(`  ${test}: ${lines.length} result lines on disk at the kill`);
      });
    }
  } finally {
    await df.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
