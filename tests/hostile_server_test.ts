/**
 * Issue 30: a hostile server cannot make up figures. A `df-handling-us` above the call's own
 * time is recorded as `df_bad`, never as `df_ms`; a unary call that ends OK without a message is
 * a failure (`INTERNAL`). A real grpc-js server (tests/hostile_server.ts), a real smft process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  assertRanToEnd,
  readResultsFile,
  run,
  startSmft,
  tempResults,
  waitAtMost,
} from "./helpers.ts";
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
        // coldconn makes one unrecorded warm-up attempt first.
        assert.equal(server.calls() - before, test === "coldconn" ? 13 : 12);
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

/** Raw control characters that act on a terminal (ESC, NUL, CR, bidi override). */
// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\x00\x1b\x0d\u202e]/;

Deno.test("a 66,000-character status message full of control codes is cut in the file and escaped on the terminal", async () => {
  const hostile = "\x1b[2J\x00\u202e" + "x".repeat(66_000) + "\x1b]0;owned\x07";
  const server = await startHostileServer(() => ({
    error: { code: grpc.status.UNAVAILABLE, details: hostile },
  }));
  const dir = await tempResults();
  try {
    const out = join(dir, "steady.txt");
    const smft = await startSmft(
      ["steady", "--rps", "12", "--duration", "1", "--warmup", "0", "--out", out],
      { DF_PORT: String(server.port) },
    );
    await waitAtMost(smft, 30_000);
    const text = await Deno.readTextFile(out);
    const r = await readResultsFile(out);
    assert.equal(r.lines.length, 12);
    for (const line of text.split("\n").filter((l) => l.startsWith("{"))) {
      assert.ok(line.length < 4096, `a result line of ${line.length} characters`);
    }
    assert.ok(r.lines.every((l) => l.code === "UNAVAILABLE"), JSON.stringify(r.lines[0]));
    // deno-lint-ignore no-control-regex
    assert.match(String(r.lines[0].error), /^\x1b\[2J.*xxxx\.\.\. \(cut, \d+ characters\)$/s);
    assert.doesNotMatch(smft.stdout + smft.stderr, RAW_CONTROL, "smft prints no raw control code");
    // Shown escaped (failure reasons are grouped with their numbers taken out: "[2J" is "[NJ").
    assert.match(smft.stdout + smft.stderr, /\\x1b\[[2N]J/, "the message is shown, escaped");
    // The reader counts every line (none over its limit) and prints nothing raw either.
    const s = await run(["run", "--allow-read", "tools/main.ts", "summarize", out]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Total Requests: 12\b/);
    assert.doesNotMatch(s.stdout, /skipped|malformed/i);
    assert.doesNotMatch(s.stdout + s.stderr, RAW_CONTROL);
    assert.match(s.stdout, /\\x1b\[[2N]J/);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("control codes in a crafted results file reach the terminal escaped (summarize, compare)", async () => {
  const dir = await tempResults();
  try {
    const a = join(dir, "a.txt");
    const lines = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify(
        i % 2
          ? { ok: false, code: "UNAVAILABLE\x1b[2J", error: "\x00\x1b[31mred", latency_ms: 5 }
          : { ok: true, latency_ms: 5 + i / 10 },
      ));
    await Deno.writeTextFile(a, ["#TEST=01_steady", ...lines, "not json \x1b[2J", ""].join("\n"));
    for (const args of [["summarize", a], ["compare", a, a]]) {
      const s = await run(["run", "--allow-read", "tools/main.ts", ...args]);
      assert.equal(s.code, 0, s.stderr);
      assert.doesNotMatch(s.stdout + s.stderr, RAW_CONTROL, args[0]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
