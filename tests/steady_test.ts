/**
 * smft steady end to end: real smft and df processes over real mTLS on loopback.
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

Deno.test("steady at 200/s for 3 s writes 600 lines, META and END, over one connection", async () => {
  const df = await startDfProcess();
  const dir = await tempResults();
  const out = join(dir, "steady.txt");
  try {
    const smft = await startSmft(
      ["steady", "--rps", "200", "--duration", "3", "--warmup", "0.5", "--out", out, "--quiet"],
      { DF_PORT: String(df.port) },
    );
    const status = await smft.wait();
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    assert.match(smft.stdout, /Total Requests: 600\n/);
    assert.match(smft.stdout, /P50: [\d.]+ms \| P90: [\d.]+ms \| P95: [\d.]+ms \| P99: [\d.]+ms/);
    assert.match(smft.stdout, /^(VALID: the generator|INVALID: (the generator|the load host))/m);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.test, "01_steady");
  assert.ok(Math.abs(r.lines.length - 600) <= 1, `${r.lines.length} lines`);
  assert.equal(r.end?.count, r.lines.length);
  assert.equal(r.end?.interrupted, false);
  assert.equal((r.meta.tls as { version: string }).version, "TLSv1.3");
  assert.equal(r.meta.rate, 200);
  for (const l of r.lines) {
    assert.equal(l.ok, true);
    const { latency_ms, service_ms, lag_ms, df_ms } = l as Record<string, number>;
    // latency = service + lag (to the µs rounding), and df's hold is inside the service time.
    assert.ok(Math.abs(latency_ms - (service_ms + lag_ms)) <= 0.002, JSON.stringify(l));
    assert.ok(df_ms >= 5 && df_ms <= service_ms, JSON.stringify(l));
  }
  // Intended send times are exactly 5 ms apart: the plan does not drift.
  const t = r.lines.map((l) => l.t_ms as number).sort((a, b) => a - b);
  t.forEach((v, i) => assert.ok(Math.abs(v - i * 5) < 0.002, `request ${i} at ${v}`));
  // One channel, one HTTP/2 connection, for warm-up and measurement.
  assert.match(df.stdout, /connections=1 /);
  assert.match(df.stdout, /calls=700 \(OK=700\)/);
});

Deno.test("steady runs a ladder of rates, one file per rate, and a table", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const dir = await tempResults();
  try {
    const smft = await startSmft(
      ["steady", "--rps", "100,200", "--duration", "1", "--warmup", "0", "--quiet"],
      { DF_PORT: String(df.port), RESULTS_FILE: join(dir, "01_steady_results.txt") },
    );
    const status = await smft.wait();
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    assert.match(smft.stdout, /rate\/s\s+achieved\/s\s+ok %\s+p50 ms/);
    const a = await readResultsFile(join(dir, "01_steady_results_100rps.txt"));
    const b = await readResultsFile(join(dir, "01_steady_results_200rps.txt"));
    assert.equal(a.lines.length, 100);
    assert.equal(b.lines.length, 200);
  } finally {
    await df.stop();
  }
});

Deno.test("steady records DEADLINE_EXCEEDED while df is paused, one line per scheduled request", async () => {
  const df = await startDfProcess({ DELAY_MS: "2" });
  const dir = await tempResults();
  const out = join(dir, "paused.txt");
  try {
    const smft = await startSmft(
      [
        "steady",
        "--rps",
        "100",
        "--duration",
        "3",
        "--warmup",
        "0",
        "--deadline-ms",
        "300",
        "--out",
        out,
        "--quiet",
      ],
      { DF_PORT: String(df.port) },
    );
    // One second into measurement, pause df for 0.8 s (past the 300 ms deadline).
    await smft.waitFor(/^smft: measuring/m, "stderr");
    await new Promise((r) => setTimeout(r, 1000));
    df.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 800));
    df.kill("SIGCONT");
    await smft.wait();
  } finally {
    df.kill("SIGCONT");
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.lines.length, 300);
  const deadline = r.lines.filter((l) => l.code === "DEADLINE_EXCEEDED");
  assert.ok(deadline.length >= 30, `${deadline.length} DEADLINE_EXCEEDED lines`);
  for (const l of deadline) assert.ok((l.service_ms as number) >= 299, JSON.stringify(l));
  // After SIGCONT, calls succeed again.
  const last = r.lines.filter((l) => (l.t_ms as number) > 2500);
  assert.ok(last.every((l) => l.ok === true), "calls after SIGCONT succeed");
});

Deno.test("steady on SIGINT completes its file with interrupted:true and exits 130", async () => {
  const df = await startDfProcess();
  const dir = await tempResults();
  const out = join(dir, "interrupted.txt");
  try {
    const smft = await startSmft(
      ["steady", "--rps", "300", "--duration", "30", "--warmup", "0", "--out", out, "--quiet"],
      { DF_PORT: String(df.port) },
    );
    await smft.waitFor(/^smft: measuring/m, "stderr");
    await new Promise((r) => setTimeout(r, 500));
    smft.kill("SIGINT");
    const status = await smft.wait();
    assert.equal(status.code, 130, smft.stderr);
    assert.match(smft.stdout, /Total Requests: \d+/);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.end?.interrupted, true);
  assert.equal(r.end?.count, r.lines.length);
  assert.ok(r.lines.length > 100 && r.lines.length < 9000, `${r.lines.length} lines`);
  assert.ok(r.text.endsWith("}\n"), "the file ends with a complete line");
  await assert.rejects(Deno.stat(`${out}.partial`), "the temporary file was renamed");
});

Deno.test("steady against a server that is not there fails with one line and exit code 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const r = await run(
    [
      "run",
      ...SMFT_PERMISSIONS,
      "tools/main.ts",
      "steady",
      "--rps",
      "10",
      "--duration",
      "1",
      "--connect-timeout-ms",
      "1000",
      "--out",
      join(await tempResults(), "x.txt"),
    ],
    await smftEnv({ DF_PORT: String(port) }),
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`smft: cannot reach df at localhost:${port} within 1000 ms`));
});

Deno.test("steady reaches df by IP address, verified against the certificate's IP SAN", async () => {
  // Deno's tls.connect refuses an IP address as SNI; smft must still verify and connect.
  const df = await startDfProcess();
  const out = join(await tempResults(), "ip.txt");
  try {
    const smft = await startSmft(
      ["steady", "--rps", "20", "--duration", "1", "--warmup", "0", "--out", out, "--quiet"],
      { DF_PORT: String(df.port), DF_HOST: "127.0.0.1" },
    );
    assertRanToEnd((await smft.wait()).code, smft.stdout, smft.stderr);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.lines.length, 20);
  assert.ok(r.lines.every((l) => l.ok === true));
  assert.equal(r.meta.server_name, "127.0.0.1");
});
