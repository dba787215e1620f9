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
