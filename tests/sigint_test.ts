/**
 * Issue 30, item 3: SIGINT against a server that never answers. The first says what smft waits
 * for and for how long at most; the second cancels the calls in flight (written as CANCELLED)
 * and the file is completed. A real df holding every call 60 s, a real smft process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readResultsFile, startDfProcess, startSmft, tempResults, waitAtMost } from "./helpers.ts";

Deno.test("a second SIGINT cancels calls that would wait an hour, and the file is whole (steady, coldconn)", async (t) => {
  const df = await startDfProcess({ DELAY_MS: "60000" });
  const dir = await tempResults();
  try {
    for (
      const [test, args, atMost] of [
        ["steady", ["steady", "--rps", "10", "--duration", "5", "--deadline-ms", "3600000"], 3603],
        ["coldconn", ["coldconn", "--rps", "5", "--duration", "5", "--deadline-ms", "150000"], 153],
        [
          "steady over 2 connections",
          [
            "steady",
            "--rps",
            "10",
            "--duration",
            "5",
            "--deadline-ms",
            "3600000",
            "--connections",
            "2",
          ],
          3603,
        ],
      ] as const
    ) {
      await t.step(test, async () => {
        const out = join(dir, `${test.replaceAll(" ", "_")}.txt`);
        const smft = await startSmft(
          [...args, ...(test === "coldconn" ? [] : ["--warmup", "0"]), "--out", out, "--quiet"],
          { DF_PORT: String(df.port) },
        );
        try {
          await smft.waitFor(/measuring at/, "stderr", 30_000);
          await new Promise((r) => setTimeout(r, 1000));
          smft.kill("SIGINT");
          await smft.waitFor(
            new RegExp(
              `SIGINT: no new calls; waiting for the calls in flight to end, at most ${atMost} s`,
            ),
            "stderr",
            10_000,
          );
          smft.kill("SIGINT");
        } catch (e) {
          smft.kill("SIGKILL");
          throw e;
        }
        const status = await waitAtMost(smft, 20_000);
        assert.equal(status.code, 130, smft.stderr);
        assert.match(smft.stderr, /SIGINT again: cancelling the calls in flight/);
        const r = await readResultsFile(out);
        assert.equal(r.end?.interrupted, true);
        assert.equal(r.end?.count, r.lines.length);
        assert.ok(r.lines.length >= 3, `${r.lines.length} lines`);
        assert.ok(r.lines.every((l) => l.code === "CANCELLED"), JSON.stringify(r.lines[0]));
        assert.deepEqual(r.end?.errors, { CANCELLED: r.lines.length });
      });
    }
  } finally {
    await df.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
