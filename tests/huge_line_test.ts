/**
 * A results file is untrusted: one enormous line must not make `summarize` hold it in memory.
 * Real process, real file: a 30 MB single line read by `summarize` with V8's heap capped at 48 MB
 * (before the line length was bounded, 10 MB took 279 MB and 30 MB took 546 MB).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { run, tempResults } from "./helpers.ts";

Deno.test("summarize reads a file with a 30 MB line in a 48 MB heap, skipping the line with a note", async () => {
  const dir = await tempResults("huge-line-");
  try {
    const path = join(dir, "huge.txt");
    const f = await Deno.open(path, { write: true, create: true });
    const enc = new TextEncoder();
    await f.write(enc.encode('#TEST=01_steady\n{"ok":true,"latency_ms":5}\n{"ok":true,"x":"'));
    const block = enc.encode("z".repeat(1 << 20));
    for (let i = 0; i < 30; i++) await f.write(block);
    await f.write(enc.encode('"}\n{"ok":true,"latency_ms":7}\n'));
    f.close();
    const r = await run([
      "run",
      "--allow-read",
      "--v8-flags=--max-old-space-size=48",
      "tools/main.ts",
      "summarize",
      path,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Total Requests: 2\n/);
    assert.match(
      r.stdout,
      /1 line longer than 65536 characters .* skipped unread: line 3 \(31457298 characters\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
