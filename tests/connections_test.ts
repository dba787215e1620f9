/**
 * `smft steady --connections N` end to end: N worker threads, N channels to a real df over real
 * mTLS, one results file holding every planned request exactly once.
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
} from "./helpers.ts";

Deno.test("steady --connections 3 sends every planned request once, over three connections, into one file", async () => {
  const df = await startDfProcess({ DELAY_MS: "2" });
  const out = join(await tempResults(), "three.txt");
  try {
    const smft = await startSmft(
      [
        "steady",
        "--rps",
        "300",
        "--duration",
        "2",
        "--warmup",
        "0.5",
        "--connections",
        "3",
        "--out",
        out,
        "--quiet",
      ],
      { DF_PORT: String(df.port) },
    );
    const status = await smft.wait();
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    assert.match(smft.stderr, /over 3 connections/);
    assert.match(smft.stdout, /Total Requests: 600\n/);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.meta.connections, 3);
  assert.equal(r.meta.planned_requests, 600);
  assert.equal(r.end?.count, 600);
  assert.equal(r.end?.sent, 600);
  assert.equal(r.end?.planned, 600);
  assert.equal(r.lines.length, 600);
  assert.ok(r.lines.every((l) => l.ok === true));
  // The three shards interleave into the one plan: intended times 3.333 ms apart, none twice.
  const t = r.lines.map((l) => l.t_ms as number).sort((a, b) => a - b);
  t.forEach((v, i) => assert.ok(Math.abs(v - i * 1000 / 300) < 0.002, `request ${i} at ${v}`));
  // Three HTTP/2 connections; warm-up (150) and measurement (600) calls all reached df.
  assert.match(df.stdout, /connections=3 /);
  assert.match(df.stdout, /calls=750 \(OK=750\)/);
});

Deno.test("steady --connections 2 with --shard 2/2 sends this host's half of the plan only", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const out = join(await tempResults(), "half.txt");
  try {
    const smft = await startSmft(
      ["steady", "--rps", "200", "--duration", "1", "--warmup", "0", "--connections", "2"]
        .concat(["--shard", "2/2", "--out", out, "--quiet"]),
      { DF_PORT: String(df.port) },
    );
    assertRanToEnd((await smft.wait()).code, smft.stdout, smft.stderr);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out.replace(".txt", "_shard2of2.txt"));
  assert.equal(r.meta.shard, "2/2");
  assert.equal(r.meta.connections, 2);
  // Combined requests 1, 3, 5, ... at 200/s: 5 ms, 15 ms, 25 ms, ... after the start.
  const t = r.lines.map((l) => l.t_ms as number).sort((a, b) => a - b);
  assert.equal(t.length, 100);
  t.forEach((v, i) => assert.ok(Math.abs(v - (5 + i * 10)) < 0.002, `request ${i} at ${v}`));
});

Deno.test("steady --connections 2 on SIGINT completes its one file with interrupted:true and exits 130", async () => {
  const df = await startDfProcess();
  const out = join(await tempResults(), "interrupted.txt");
  try {
    const smft = await startSmft(
      ["steady", "--rps", "300", "--duration", "30", "--warmup", "0", "--connections", "2"]
        .concat(["--out", out, "--quiet"]),
      { DF_PORT: String(df.port) },
    );
    await smft.waitFor(/^smft: measuring/m, "stderr");
    await new Promise((r) => setTimeout(r, 700));
    smft.kill("SIGINT");
    const status = await smft.wait();
    assert.equal(status.code, 130, smft.stderr);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.end?.interrupted, true);
  assert.equal(r.end?.count, r.lines.length);
  // Every call sent was answered and written: nothing a worker held back was lost.
  assert.equal(r.end?.sent, r.lines.length);
  assert.ok(r.lines.length > 100 && r.lines.length < 9000, `${r.lines.length} lines`);
  assert.ok(r.text.endsWith("}\n"), "the file ends with a complete line");
});

Deno.test("steady --connections 2 against a server that is not there fails with one line", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await tempResults();
  const r = await run(
    ["run", ...SMFT_PERMISSIONS, "tools/main.ts", "steady", "--rps", "10", "--duration", "1"]
      .concat(["--connections", "2", "--connect-timeout-ms", "1000", "--out", join(dir, "x.txt")]),
    await smftEnv({ DF_PORT: String(port) }),
  );
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("smft steady ->"));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^smft: cannot reach df at localhost:${port} within 1000 ms`));
  assert.deepEqual([...Deno.readDirSync(dir)], [], "no file is left behind");
});
