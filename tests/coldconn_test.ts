/**
 * smft coldconn end to end: a new channel and a full TLS 1.3 handshake per attempt, against a
 * real df over real mTLS on loopback.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createCa, issueCert } from "../certs/generate.ts";
import {
  assertRanToEnd,
  readResultsFile,
  startDfProcess,
  startSmft,
  tempResults,
} from "./helpers.ts";
import { summarizeCommand } from "../tools/summarize.ts";

Deno.test("coldconn makes 5 attempts at 5/s after one unrecorded warm-up attempt: 5 ok lines, 6 connections, ordered phases, TLSv1.3", async () => {
  const df = await startDfProcess();
  const out = join(await tempResults(), "cold.txt");
  try {
    const smft = await startSmft(
      ["coldconn", "--rps", "5", "--attempts", "5", "--out", out, "--quiet"],
      { DF_PORT: String(df.port) },
    );
    const status = await smft.wait();
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    assert.match(
      smft.stdout,
      /Total Attempts: 5\nSuccessful: 5 \(100\.0%\)\nMean Connect Time: [\d.]+ms/,
    );
    assert.match(smft.stdout, /TLS versions: TLSv1\.3=5/);
    assert.match(smft.stdout, /^Warm-up: 1 attempt before these, not recorded/m);
    // It says what it measures, and what went before (issue 28: not "for 300 s").
    assert.match(
      smft.stderr,
      /^smft: measuring 5 attempts at 5\/s \(1 attempt of warm-up over\)$/m,
    );
  } finally {
    await df.stop();
  }
  // df accepted one connection per attempt, the warm-up's too: nothing was shared or reused.
  assert.match(df.stdout, /calls=6 \(OK=6\) connections=6 /);
  const r = await readResultsFile(out);
  assert.equal(r.test, "02_coldconn");
  assert.equal(r.meta.resumption, false);
  assert.equal(r.meta.warmup_attempts, 1);
  assert.equal(r.meta.planned_attempts, 5);
  assert.equal(r.end?.planned, 5);
  // summarize says it too, and keeps the caveat smft printed: 5 attempts cannot judge lag.
  const sum = await summarizeCommand([out]);
  assert.match(sum.stdout, /^Warm-up: 1 attempt before these, not recorded/m);
  assert.match(
    sum.stdout,
    /^Run verdict: (VALID|INVALID): .*too few calls to judge the own delay \(5 < 100; not judged\)/m,
  );
  assert.equal(r.lines.length, 5);
  assert.equal(r.end?.count, 5);
  // Lines are written as attempts finish; order them by plan.
  r.lines.sort((a, b) => (a.t_ms as number) - (b.t_ms as number));
  r.lines.forEach((l, i) => {
    const n = l as Record<string, number>;
    assert.equal(l.ok, true);
    assert.equal(l.tls, "TLSv1.3");
    assert.equal(l.alpn, "h2");
    assert.equal(l.resumed, false);
    assert.match(String(l.peer_subject), /CN=localhost/);
    // The phases add up: each is reached after the one before it.
    assert.ok(
      n.t_start_ms <= n.t_dns_ms && n.t_dns_ms <= n.t_tcp_ms && n.t_tcp_ms <= n.t_tls_ms &&
        n.t_tls_ms <= n.t_h2_ms &&
        n.t_h2_ms <= n.t_connect_ms && n.t_connect_ms <= n.t_total_ms,
      JSON.stringify(l),
    );
    assert.ok(Math.abs(n.t_connect_ms + n.t_first_rpc_ms - n.t_total_ms) <= 0.002);
    assert.ok(n.t_first_rpc_ms >= 5, "the first RPC includes df's 5 ms hold");
    assert.ok(Math.abs(n.t_ms - i * 200) < 0.002, `attempt ${i} planned at ${n.t_ms}`);
  });
});

Deno.test("coldconn --warmup-attempts 0 makes no warm-up attempt, and says so", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const out = join(await tempResults(), "cold.txt");
  try {
    const smft = await startSmft(
      ["coldconn", "--rps", "10", "--attempts", "3", "--warmup-attempts", "0", "--out", out],
      { DF_PORT: String(df.port) },
    );
    assertRanToEnd((await smft.wait()).code, smft.stdout, smft.stderr);
    assert.match(smft.stdout, /^Warm-up: none \(--warmup-attempts 0\)/m);
    assert.match(smft.stderr, /^smft: measuring 3 attempts at 10\/s \(no warm-up\)$/m);
  } finally {
    await df.stop();
  }
  assert.match(df.stdout, /calls=3 \(OK=3\) connections=3 /);
  const r = await readResultsFile(out);
  assert.equal(r.lines.length, 3);
  assert.equal(r.meta.warmup_attempts, 0);
});

Deno.test("coldconn --pacing spin at 2/s sleeps between attempts: its pacer spins only the last stretch before each, not the whole second", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const out = join(await tempResults(), "cold.txt");
  try {
    const smft = await startSmft(
      ["coldconn", "--rps", "2", "--attempts", "3", "--warmup-attempts", "0", "--out", out]
        .concat(["--pacing", "spin"]),
      { DF_PORT: String(df.port) },
    );
    assertRanToEnd((await smft.wait()).code, smft.stdout, smft.stderr);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.lines.length, 3);
  // A thread that spun through the 500 ms between attempts would turn its loop some 250,000
  // times per attempt (~1-2 µs a turn); spinning only ~10 ms before each, a few thousand.
  const spins = r.end?.spins_per_call as number;
  assert.ok(spins < 50_000, `${spins} turns per attempt`);
});

Deno.test("coldconn names the channel's start-up as its own phase: an IP target has no DNS time", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const dir = await tempResults();
  try {
    for (const host of ["127.0.0.1", "localhost"]) {
      const out = join(dir, `${host}.txt`);
      const smft = await startSmft(
        ["coldconn", "--host", host, "--server-name", "localhost", "--rps", "10", "--attempts"]
          .concat(["4", "--out", out, "--quiet"]),
        { DF_PORT: String(df.port) },
      );
      assertRanToEnd((await smft.wait()).code, smft.stdout, smft.stderr);
      assert.match(smft.stdout, /^ {2}start {2,}[\d.]+/m, "the summary has a start-up row");
      const r = await readResultsFile(out);
      assert.equal(r.lines.length, 4);
      for (const l of r.lines as Record<string, number>[]) {
        assert.ok(l.t_start_ms > 0 && l.t_start_ms < l.t_tcp_ms, JSON.stringify(l));
        if (host === "127.0.0.1") {
          assert.equal(l.t_dns_ms, l.t_start_ms, `no lookup for an address: ${JSON.stringify(l)}`);
        } else {
          assert.ok(l.t_dns_ms > l.t_start_ms, `localhost is looked up: ${JSON.stringify(l)}`);
        }
      }
    }
  } finally {
    await df.stop();
  }
});

Deno.test("coldconn records a refused client certificate as a failed attempt with its phase", async () => {
  const dir = await tempResults();
  const other = await createCa({ out: join(dir, "other-ca") });
  const foreign = await issueCert({
    caCrt: other.crt,
    caKey: other.key,
    out: join(dir, "foreign"),
    cn: "smft-client",
    kind: "client",
  });
  const df = await startDfProcess();
  const out = join(dir, "cold.txt");
  try {
    const smft = await startSmft(
      [
        "coldconn",
        "--rps",
        "5",
        "--attempts",
        "3",
        "--out",
        out,
        "--quiet",
        "--deadline-ms",
        "2000",
      ],
      { DF_PORT: String(df.port), TLS_CERT: foreign.crt, TLS_KEY: foreign.key },
    );
    await smft.wait();
    assert.match(smft.stdout, /Successful: 0 \(0\.0%\)/);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.lines.length, 3, "nothing missing");
  for (const l of r.lines) {
    assert.equal(l.ok, false);
    // TLS 1.3: the client's handshake completes before df checks its certificate.
    assert.equal(l.phase, "h2", JSON.stringify(l));
    assert.match(String(l.error), /client certificate refused/);
    assert.equal(typeof l.t_tls_ms, "number");
  }
  assert.match(df.stderr, /refused 127\.0\.0\.1:\d+: client certificate not accepted/);
});

Deno.test("coldconn keeps its schedule and records failures while df is down", async () => {
  const df = await startDfProcess();
  const out = join(await tempResults(), "cold.txt");
  const smft = await startSmft(
    [
      "coldconn",
      "--rps",
      "10",
      "--attempts",
      "20",
      "--deadline-ms",
      "500",
      "--out",
      out,
      "--quiet",
    ],
    { DF_PORT: String(df.port) },
  );
  // Attempts run at 10/s for 2 s: stop df half a second in.
  await smft.waitFor(/^smft: measuring/m, "stderr");
  await new Promise((r) => setTimeout(r, 500));
  await df.stop("SIGKILL");
  await smft.wait();
  const r = await readResultsFile(out);
  assert.equal(r.lines.length, 20, "one line per planned attempt");
  const failed = r.lines.filter((l) => l.ok === false);
  assert.ok(failed.length >= 5, `${failed.length} failures`);
  for (const l of failed) {
    assert.ok(["start", "dns", "tcp", "tls", "h2", "rpc", "connect"].includes(String(l.phase)));
  }
  const planned = r.lines.map((l) => l.t_ms as number).sort((a, b) => a - b);
  planned.forEach((t, i) => assert.ok(Math.abs(t - i * 100) < 0.002, `attempt ${i} at ${t}`));
});
