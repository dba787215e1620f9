import assert from "node:assert/strict";
import { join } from "node:path";
import { ResultsWriter } from "./record.ts";
import { type End, type Meta, r3 } from "./results_format.ts";

Deno.test("ResultsWriter writes to .partial and renames into place only after #END", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sub", "r.txt");
  const w = ResultsWriter.open(path, "01_steady", { rate: 10 } as Meta);
  for (let i = 0; i < 3000; i++) w.line(JSON.stringify({ ok: true, latency_ms: i }));
  // Flushed in blocks while running, under the temporary name only.
  await assert.rejects(Deno.stat(path));
  assert.ok((await Deno.stat(`${path}.partial`)).size > 0);
  w.finish({ interrupted: false } as End);
  await assert.rejects(Deno.stat(`${path}.partial`));
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assert.equal(lines[0], "#TEST=01_steady");
  assert.equal(lines[1], '#META={"rate":10}');
  assert.equal(lines.length, 3003);
  assert.deepEqual(JSON.parse(lines[3002].slice(5)), { count: 3000, interrupted: false });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("r3() rounds to the microsecond the histograms hold", () => {
  assert.equal(r3(5.8304999), 5.83);
  assert.equal(r3(0.0004), 0);
  assert.equal(r3(1000.0005), 1000.001);
});

Deno.test("ResultsWriter never replaces an earlier file: a complete run moves it aside, an interrupted one keeps its own name", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "r.txt");
  const write = (start: number, interrupted: boolean, overwrite = false) => {
    const w = ResultsWriter.open(path, "01_steady", { start_epoch_ms: start } as Meta);
    w.line('{"ok":true}');
    return w.finish({ interrupted } as End, { overwrite });
  };
  const t1 = Date.UTC(2026, 10, 28, 9, 1, 2);
  const t2 = Date.UTC(2026, 10, 28, 9, 5, 0);
  assert.deepEqual(write(t1, false), { path, movedAside: undefined });
  const first = await Deno.readTextFile(path);
  const second = write(t2, false);
  assert.deepEqual(second.movedAside, { from: path, to: join(dir, "r.2026-11-28T09-01-02Z.txt") });
  assert.equal(await Deno.readTextFile(second.movedAside!.to), first);
  const complete = await Deno.readTextFile(path);
  const stopped = write(Date.UTC(2026, 10, 28, 9, 9, 9), true);
  assert.equal(stopped.path, join(dir, "r.2026-11-28T09-09-09Z.interrupted.txt"));
  assert.equal(await Deno.readTextFile(path), complete, "the complete file is untouched");
  assert.equal(write(t2, false, true).replaced, path);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ResultsWriter.reserve() creates the .partial exclusively: a second writer is refused", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "r.txt");
  const a = ResultsWriter.reserve(path, "02_coldconn");
  assert.throws(
    () => ResultsWriter.reserve(path, "02_coldconn"),
    /r\.txt\.partial exists: another smft run/,
  );
  a.discard();
  await assert.rejects(Deno.stat(`${path}.partial`), "an unused reservation is removed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("handlingTime() and statusName() take what a server sent as untrusted", async () => {
  const { handlingTime, statusName } = await import("./results_format.ts");
  assert.deepEqual(handlingTime(["5011"]), { df_ms: 5.011 });
  assert.deepEqual(handlingTime(["99999999999999999999"]), { df_bad: "99999999999999999999" });
  assert.deepEqual(handlingTime(["-5"]), { df_bad: "-5" });
  assert.deepEqual(handlingTime(["abc"]), { df_bad: "abc" });
  assert.deepEqual(handlingTime(["1", "2"]), { df_bad: "1,2" });
  assert.deepEqual(handlingTime(undefined), {});
  // Above the call's own time as the client saw it: impossible, so never df_ms.
  assert.deepEqual(handlingTime(["50000000"], 5.0004), {
    df_bad: "50000000 us: above the call's own 5 ms",
  });
  assert.deepEqual(handlingTime(["5000"], 5), { df_ms: 5 });
  assert.deepEqual(statusName(0), { ok: true, malformed: false });
  assert.deepEqual(statusName(14), { ok: false, code: "UNAVAILABLE", malformed: false });
  assert.deepEqual(statusName(Number.NaN), { ok: false, code: "INTERNAL", malformed: true });
});
