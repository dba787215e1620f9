/**
 * Issue 30: a hostile server cannot make up figures. A `df-handling-us` above the call's own
 * time is recorded as `df_bad`, never as `df_ms`; a unary call that ends OK without a message is
 * a failure (`INTERNAL`). A real grpc-js server (tests/hostile_server.ts), a real smft process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertRanToEnd, readResultsFile, startSmft, tempResults, waitAtMost } from "./helpers.ts";
import { startHostileServer } from "./hostile_server.ts";

Deno.test("a server's impossible df-handling-us is df_bad, and an OK call without a message is INTERNAL", async (t) => {
  // Even calls: a message and a 50 s handling time beside a ~0 ms call; odd: OK, no message.
  const server = await startHostileServer((i) =>
    i % 2 === 0
      ? { trailers: { "df-handling-us": "50000000" } }
      : { message: false, trailers: { "df-handling-us": "10" } }
  );
  const dir = await tempResults();
  try {
    for (const test of ["steady", "coldconn"] as const) {
      await t.step(test, async () => {
        const out = join(dir, `${test}.txt`);
        const args = test === "steady"
          ? ["steady", "--rps", "12", "--duration", "1", "--warmup", "0"]
          : ["coldconn", "--rps", "12", "--attempts", "12"];
        const before = server.calls();
        const smft = await startSmft([...args, "--out", out, "--quiet"], {
          DF_PORT: String(server.port),
        });
        const status = await waitAtMost(smft, 30_000);
        assert.notEqual(status.code, 1, smft.stderr);
        if (status.code !== 2) assertRanToEnd(status.code, smft.stdout, smft.stderr);
        const r = await readResultsFile(out);
        assert.equal(r.lines.length, 12);
        assert.equal(server.calls() - before, 12);
        const ok = r.lines.filter((l) => l.ok === true);
        const noMessage = r.lines.filter((l) =>
          l.ok === false && l.code === "INTERNAL" && /no response message/.test(String(l.error))
        );
        assert.equal(ok.length, 6, JSON.stringify(r.lines));
        assert.equal(noMessage.length, 6, JSON.stringify(r.lines));
        assert.equal(r.end?.ok, 6);
        assert.deepEqual(r.end?.errors, { INTERNAL: 6 });
        for (const l of ok) {
          assert.equal(l.df_ms, undefined, "an impossible handling time is never df_ms");
          assert.match(String(l.df_bad), /^50000000 us: above the call's own [\d.]+ ms$/);
        }
        assert.ok(r.end && Number(r.end.bad_trailers) >= 6);
        assert.match(smft.stdout, /Malformed df-handling-us trailers: \d+/);
      });
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
