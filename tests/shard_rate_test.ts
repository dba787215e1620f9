/**
 * Issue 30, item 10: the achieved rate of a shard is counted from this host's first due call,
 * and a plan with no call due on this host is refused. Real df and smft processes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertRanToEnd,
  readResultsFile,
  run,
  SMFT_PERMISSIONS,
  smftEnv,
  startDfProcess,
  startSmft,
  tempResults,
  waitAtMost,
} from "./helpers.ts";

Deno.test("shard 2/2 of 10/s for 1 s achieves its 5/s: the window opens at its own first call", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const dir = await tempResults();
  try {
    const out = join(dir, "s.txt");
    const smft = await startSmft(
      ["steady", "--rps", "10", "--shard", "2/2", "--duration", "1", "--warmup", "0"].concat(
        ["--out", out, "--quiet"],
      ),
      { DF_PORT: String(df.port) },
    );
    const status = await waitAtMost(smft, 30_000);
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    const r = await readResultsFile(r_path(out, "2of2"));
    assert.equal(r.lines.length, 5);
    const due = r.lines.map((l) => Number(l.t_ms)).sort((a, b) => a - b);
    assert.deepEqual(due, [100, 300, 500, 700, 900], "this shard's calls are due at its turns");
    // What the file itself says: 5 calls from the first due one to one interval after the last.
    const lastIssued = Math.max(...r.lines.map((l) => Number(l.t_ms) + Number(l.lag_ms)));
    const expected = 5 / ((lastIssued - due[0]) / 1000 + 0.2);
    assert.ok(
      Math.abs(Number(r.end?.achieved_rps) - expected) < 0.01,
      `achieved_rps ${r.end?.achieved_rps}, the file's own calls say ${expected.toFixed(3)}`,
    );
    if (expected > 5 * 0.99) {
      assert.ok(
        !(r.end?.verdict_reasons as string[]).some((x) => x.startsWith("achieved")),
        JSON.stringify(r.end?.verdict_reasons),
      );
    }
  } finally {
    await df.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/** The shard's file name: `s_shard2of2.txt` for `s.txt`. */
function r_path(out: string, shard: string): string {
  return out.replace(/\.txt$/, `_shard${shard}.txt`);
}

Deno.test("a plan with no call due on this host is refused in one line, exit 1", async (t) => {
  const smft = ["run", ...SMFT_PERMISSIONS, "tools/main.ts"];
  for (
    const args of [
      ["steady", "--rps", "1e-9", "--duration", "604800", "--warmup", "0"],
      ["steady", "--rps", "1", "--shard", "2/2", "--duration", "1", "--warmup", "0"],
      ["coldconn", "--rps", "1e-9", "--duration", "60"],
    ]
  ) {
    await t.step(args.join(" "), async () => {
      const r = await run([...smft, ...args], await smftEnv({ DF_PORT: "1" }));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^smft: --rps: .* has fewer than one call due on this host/);
    });
  }
});
