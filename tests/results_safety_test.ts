/**
 * Issue 11, smft's side: results are never lost, overwritten or made up, and every failure says
 * what happened. Real processes and real files; a fake server only where it plays a df that
 * misbehaves (crafted trailers).
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
  startFakeDf,
  startSmft,
  tempResults,
  waitAtMost,
} from "./helpers.ts";
import { summarizeCommand } from "../tools/summarize.ts";

const SMFT = ["run", ...SMFT_PERMISSIONS, "tools/main.ts"];

/** A port nothing listens on (it was free a moment ago). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The one error line of a failed smft run. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n").filter((l) => !/^smft (steady|coldconn) ->/.test(l));
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
  return lines[0];
}

const SHORT = ["--rps", "50", "--duration", "0.2", "--warmup", "0", "--quiet"];

Deno.test("a rerun moves a complete earlier file aside under its own start time; --overwrite replaces it", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const dir = await tempResults();
  const out = join(dir, "01_steady_results.txt");
  try {
    const env = { DF_PORT: String(df.port) };
    const first = await startSmft(["steady", ...SHORT, "--out", out], env);
    assertRanToEnd((await first.wait()).code, first.stdout, first.stderr);
    const firstText = await Deno.readTextFile(out);
    const firstMeta = (await readResultsFile(out)).meta;

    const second = await startSmft(["steady", ...SHORT, "--out", out], env);
    assertRanToEnd((await second.wait()).code, second.stdout, second.stderr);
    const stamp = new Date(firstMeta.start_epoch_ms as number).toISOString()
      .replace(/\.\d{3}Z$/, "Z").replace(/:/g, "-");
    const aside = join(dir, `01_steady_results.${stamp}.txt`);
    assert.equal(await Deno.readTextFile(aside), firstText, "the earlier file, byte for byte");
    assert.match(
      second.stderr,
      new RegExp(`kept the earlier .*01_steady_results\\.txt as .*${stamp}`),
    );
    const now = await readResultsFile(out);
    assert.notEqual(now.meta.run_id, firstMeta.run_id);

    const third = await startSmft(["steady", ...SHORT, "--out", out, "--overwrite"], env);
    assertRanToEnd((await third.wait()).code, third.stdout, third.stderr);
    assert.match(third.stderr, /replaced the earlier .*--overwrite/);
    assert.equal((await readResultsFile(out)).end?.count, 10);
    // Only the one file moved aside by the second run: --overwrite moved nothing.
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, [`01_steady_results.${stamp}.txt`, "01_steady_results.txt"].sort());
  } finally {
    await df.stop();
  }
});

Deno.test("an interrupted run never takes the place of a complete file, and says interrupted", async () => {
  const df = await startDfProcess();
  const dir = await tempResults();
  const out = join(dir, "01_steady_results.txt");
  try {
    const env = { DF_PORT: String(df.port) };
    const first = await startSmft(["steady", ...SHORT, "--out", out], env);
    assertRanToEnd((await first.wait()).code, first.stdout, first.stderr);
    const complete = await Deno.readTextFile(out);

    // SIGINT during the warm-up: the case that turned a 4,000-line file into count 0.
    const second = await startSmft(
      ["steady", "--rps", "50", "--duration", "30", "--warmup", "30", "--out", out, "--quiet"],
      env,
    );
    await second.waitFor(/^smft steady ->/m, "stderr");
    await new Promise((r) => setTimeout(r, 1500));
    second.kill("SIGINT");
    assert.equal((await waitAtMost(second, 20_000)).code, 130, second.stderr);
    assert.equal(await Deno.readTextFile(out), complete, "the complete file is untouched");
    assert.match(second.stdout, /^INTERRUPTED before the first measured call/m);
    assert.doesNotMatch(second.stdout, /fell behind/);
    const kept = /interrupted: 0 result lines kept in (\S+)/.exec(second.stderr)?.[1];
    assert.ok(kept, second.stderr);
    assert.match(kept, /01_steady_results\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.interrupted\.txt$/);
    const r = await readResultsFile(kept);
    assert.equal(r.end?.interrupted, true);
    assert.equal(r.end?.count, 0);
    assert.equal(await exists(`${out}.partial`), false);
  } finally {
    await df.stop();
  }
});

Deno.test("a second run on the same results file is refused in one line before it sends anything", async () => {
  const df = await startDfProcess();
  const dir = await tempResults();
  const out = join(dir, "shared.txt");
  try {
    const env = { DF_PORT: String(df.port) };
    const a = await startSmft(
      ["steady", "--rps", "100", "--duration", "30", "--warmup", "0", "--out", out, "--quiet"],
      env,
    );
    await a.waitFor(/^smft: measuring/m, "stderr");
    const b = await startSmft(
      ["steady", "--rps", "100", "--duration", "1", "--warmup", "0", "--out", out, "--quiet"],
      env,
    );
    const bStatus = await waitAtMost(b, 20_000);
    assert.equal(bStatus.code, 1, b.stderr);
    assert.match(oneLine(b.stderr), /shared\.txt\.partial exists: another smft run is writing/);
    assert.doesNotMatch(b.stderr, /measuring/);
    a.kill("SIGINT");
    assert.equal((await waitAtMost(a, 20_000)).code, 130);
    const r = await readResultsFile(out);
    assert.equal(r.end?.count, r.lines.length, "the first run's file is whole");
    assert.ok(r.text.endsWith("}\n"));
  } finally {
    await df.stop();
  }
  // df saw exactly one connection: the refused run never connected.
  assert.match(df.stdout, /connections=1 /);
});

Deno.test("an unusable output path is refused before the run starts, in one line", async (t) => {
  const dir = await tempResults();
  const file = join(dir, "a-file");
  await Deno.writeTextFile(file, "not a folder\n");
  const env = await smftEnv({ DF_PORT: String(closedPort()) });
  await t.step("a file where a folder should be", async () => {
    const r = await run([...SMFT, "steady", ...SHORT, "--out", join(file, "r.txt")], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /^smft: cannot use results folder .*a-file: .*/);
  });
  await t.step("a folder where the file should be", async () => {
    await Deno.mkdir(join(dir, "r.txt"));
    const r = await run([...SMFT, "steady", ...SHORT, "--out", join(dir, "r.txt")], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /r\.txt: it is a folder/);
  });
  await t.step("a read-only file system (/proc)", async () => {
    const r = await run([...SMFT, "coldconn", "--out", "/proc/smft-results/r.txt"], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      oneLine(r.stderr),
      /^smft: cannot (use results folder|create) \/proc\/smft-results/,
    );
  });
});

/** Mounts a tmpfs of `size` at a new folder; undefined (with the reason) where not permitted. */
async function smallTmpfs(size: string): Promise<{ dir: string } | { skip: string }> {
  const dir = await Deno.makeTempDir({ prefix: "smft-tmpfs-" });
  const r = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
  if (!r.success) {
    return { skip: `mount tmpfs not permitted: ${new TextDecoder().decode(r.stderr).trim()}` };
  }
  return { dir };
}

async function unmount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir] }).output().catch(() => {});
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

Deno.test("a full disk stops the run: whole lines kept in the .partial, one line, exit 4", async (t) => {
  const fs = await smallTmpfs("64k");
  if ("skip" in fs) {
    console.log(`  skipped: ${fs.skip}`);
    return;
  }
  const df = await startDfProcess({ DELAY_MS: "1" });
  try {
    await t.step("read-only: refused before the run, exit 1", async () => {
      const ro = join(fs.dir, "ro");
      await Deno.mkdir(ro);
      const m = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", ro],
      }).output();
      if (!m.success) return console.log("  skipped: cannot mount a read-only tmpfs");
      try {
        const r = await run(
          [...SMFT, "steady", ...SHORT, "--out", join(ro, "r.txt")],
          await smftEnv({ DF_PORT: String(df.port) }),
        );
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          oneLine(r.stderr),
          /cannot create .*r\.txt\.partial: .*[Rr]ead-only file system/,
        );
      } finally {
        await unmount(ro);
      }
    });
    await t.step("disk full during the run", async () => {
      const out = join(fs.dir, "full.txt");
      // 64 KiB hold ~700 lines; 400/s for 10 s writes ~4000 of them.
      const smft = await startSmft(
        ["steady", "--rps", "400", "--duration", "10", "--warmup", "0", "--out", out, "--quiet"],
        { DF_PORT: String(df.port) },
      );
      const status = await waitAtMost(smft, 30_000);
      assert.equal(status.code, 4, smft.stderr);
      const line = oneLine(smft.stderr.replace(/^smft: measuring.*\n/m, ""));
      assert.match(line, /^smft: cannot write .*full\.txt\.partial: No space left on device/);
      const kept = Number(/(\d+) whole result lines kept/.exec(line)?.[1]);
      const text = await Deno.readTextFile(`${out}.partial`);
      assert.ok(text.endsWith("\n"), "no line cut in half");
      const lines = text.slice(0, -1).split("\n");
      assert.equal(lines[0], "#TEST=01_steady");
      assert.ok(lines[1].startsWith("#META="));
      for (const l of lines.slice(2)) assert.equal(typeof JSON.parse(l).ok, "boolean");
      assert.equal(lines.length - 2, kept, "the line says how many were kept");
      assert.ok(kept > 100, `${kept} lines`);
      assert.equal(await exists(out), false, "an incomplete file never takes the final name");
    });
  } finally {
    await df.stop();
    await unmount(fs.dir);
  }
});

Deno.test("a server's malformed trailers and status never crash smft: absent, counted, errors with their raw text", async (t) => {
  const variants: Record<string, string>[] = [
    { "grpc-status": "0", "df-handling-us": "99999999999999999999" },
    { "grpc-status": "0", "df-handling-us": "-5" },
    { "grpc-status": "abc", "df-handling-us": "abc" },
    { "grpc-status": "0x0" },
    { "grpc-status": "" },
    { "grpc-status": "0", "df-handling-us": "150" },
  ];
  const fake = await startFakeDf((i) => variants[i % variants.length]);
  const dir = await tempResults();
  try {
    for (const test of ["steady", "coldconn"] as const) {
      await t.step(test, async () => {
        const out = join(dir, `${test}.txt`);
        const args = test === "steady"
          ? ["steady", "--rps", "12", "--duration", "1", "--warmup", "0"]
          : ["coldconn", "--rps", "12", "--attempts", "12"];
        const smft = await startSmft([...args, "--out", out, "--quiet"], {
          DF_PORT: String(fake.port),
        });
        const status = await waitAtMost(smft, 30_000);
        assertRanToEnd(status.code, smft.stdout, smft.stderr);
        const r = await readResultsFile(out);
        assert.equal(r.lines.length, 12);
        const bad = r.lines.filter((l) => l.df_bad !== undefined);
        assert.equal(r.end?.bad_trailers, bad.length);
        assert.ok(bad.length >= 5, `${bad.length} bad trailers`);
        assert.ok(bad.every((l) => l.df_ms === undefined));
        assert.ok(r.lines.some((l) => l.df_bad === "99999999999999999999"));
        assert.ok(r.lines.some((l) => l.df_ms === 0.15), "a good trailer is still read");
        for (const raw of ["abc", "0x0", ""]) {
          const l = r.lines.filter((l) =>
            String(l.error).includes(`grpc-status ${JSON.stringify(raw)}`)
          );
          assert.equal(l.length, 2, `status ${JSON.stringify(raw)}`);
          assert.ok(l.every((x) => x.ok === false && x.code === "INTERNAL"), JSON.stringify(l));
        }
        assert.ok(r.lines.every((l) => l.code !== "NaN"));
        assert.match(smft.stdout, /Malformed df-handling-us trailers: \d+/);
      });
    }
  } finally {
    await fake.close();
  }
});

Deno.test("a rate whose plan cannot fit one process is refused before the run, naming the limit", async (t) => {
  const env = await smftEnv({ DF_PORT: String(closedPort()) });
  await t.step("N_RPS=1000000", async () => {
    const r = await run([...SMFT, "steady"], { ...env, N_RPS: "1000000" });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      oneLine(r.stderr),
      /N_RPS: 1000000\/s on this host is above smft's limit of 20000\/s per host/,
    );
  });
  await t.step("rate x deadline", async () => {
    const r = await run([...SMFT, "steady", "--rps", "10000", "--deadline-ms", "10000"], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /100000 calls in flight, above smft's limit of 50000/);
  });
  await t.step("coldconn", async () => {
    const r = await run([...SMFT, "coldconn", "--rps", "5000"], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /--rps: 5000\/s .* limit of 500\/s per host/);
  });
});

Deno.test("a short run is not judged on one call: its verdict says how many calls it rests on", async () => {
  const df = await startDfProcess();
  const out = join(await tempResults(), "cold.txt");
  try {
    const smft = await startSmft(
      ["coldconn", "--rps", "20", "--attempts", "20", "--out", out, "--quiet"],
      { DF_PORT: String(df.port) },
    );
    const status = await waitAtMost(smft, 30_000);
    // 20 attempts at 20/s: only the rate can make it INVALID, never one slow first attempt.
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    assert.match(
      smft.stdout,
      /too few calls to judge the own delay \(20 < 100; not judged\)/,
    );
    assert.match(smft.stdout, /on 20 measured calls/);
    const r = await readResultsFile(out);
    assert.equal(r.end?.verdict_calls, 20);
    assert.equal(r.end?.lag_judged, false);
  } finally {
    await df.stop();
  }
});

Deno.test("an SLO that fails prints both verdicts and exits 2 (VALID) or 5 (INVALID), never 3", async () => {
  const df = await startDfProcess();
  try {
    const smft = await startSmft(
      [
        "steady",
        ...SHORT,
        "--out",
        join(await tempResults(), "slo.txt"),
        "--slo",
        "p50<0.001ms",
      ],
      { DF_PORT: String(df.port) },
    );
    const { code } = await waitAtMost(smft, 30_000);
    assert.match(smft.stdout, /^(VALID|INVALID): /m);
    assert.match(smft.stdout, /FAIL/);
    const invalid = /^INVALID: /m.test(smft.stdout);
    assert.equal(code, invalid ? 5 : 2, smft.stdout);
  } finally {
    await df.stop();
  }
});

Deno.test("coldconn against a stopped df records refused connections as tcp failures, counts the reasons, never says VALID and exits 1", async () => {
  const port = closedPort();
  const out = join(await tempResults(), "cold.txt");
  const smft = await startSmft(
    ["coldconn", "--rps", "10", "--attempts", "5", "--out", out, "--quiet"],
    { DF_PORT: String(port), DF_HOST: "127.0.0.1" },
  );
  const { code } = await waitAtMost(smft, 30_000);
  // No attempt got through: df unreachable (exit 1), said in one line; never VALID.
  assert.equal(code, 1, smft.stdout + smft.stderr);
  assert.match(
    smft.stderr,
    new RegExp(`^smft: no attempt got through to 127\\.0\\.0\\.1:${port}: all 5 failed`, "m"),
  );
  assert.doesNotMatch(smft.stdout, /^VALID: /m);
  assert.match(smft.stdout, /^INVALID: no call got through: all 5 failed; no figure/m);
  const r = await readResultsFile(out);
  assert.equal(r.end?.valid, false, "#END is written, and says INVALID");
  assert.ok(
    (r.end?.verdict_reasons as string[]).includes("no call got through: all 5 failed"),
    JSON.stringify(r.end),
  );
  assert.equal(r.lines.length, 5);
  for (const l of r.lines) {
    assert.equal(l.phase, "tcp", JSON.stringify(l));
    assert.equal(typeof l.t_dns_ms, "number", "the connect was tried");
    assert.equal(l.t_tcp_ms, undefined);
    assert.match(String(l.error), new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}`));
  }
  assert.deepEqual(r.end?.failed_by_phase, { tcp: 5 });
  assert.match(
    smft.stdout,
    new RegExp(
      `Top failure reasons \\(of 5\\):\\n\\s+5 x UNAVAILABLE \\(tcp\\): connection refused by 127\\.0\\.0\\.1:${port}`,
    ),
  );
});

Deno.test("steady whose every call fails (df holds past the deadline) says no call got through, exits 1, groups the reasons", async () => {
  const df = await startDfProcess({ DELAY_MS: "300" });
  const out = join(await tempResults(), "late.txt");
  try {
    const smft = await startSmft(
      ["steady", "--rps", "20", "--duration", "1", "--warmup", "0", "--deadline-ms", "30"]
        .concat(["--out", out, "--quiet", "--slo", "p99<1s"]),
      { DF_PORT: String(df.port) },
    );
    const { code } = await waitAtMost(smft, 30_000);
    assert.equal(code, 1, smft.stdout + smft.stderr);
    assert.match(
      smft.stderr,
      /^smft: no call got through to localhost:\d+: all 20 failed \(most: DEADLINE_EXCEEDED: /m,
    );
    assert.doesNotMatch(smft.stdout, /^VALID: /m);
    // grpc-js puts each call's own timings (and which stages it timed) in its message: one
    // reason, with the numbers taken out (smft/summary_test.ts: 670 distinct messages, one key).
    const block = /Top failure reasons \(of 20\):\n((?: +\d+ x .*\n)+)/.exec(smft.stdout)?.[1];
    assert.ok(block, smft.stdout);
    const reasons = block.trim().split("\n").map((l) => /(\d+) x (.*)/.exec(l)!);
    assert.equal(reasons.reduce((n, m) => n + Number(m[1]), 0), 20, block);
    // Either grpc-js's own message (timings out, the address kept) or the status's plain one.
    for (const m of reasons) {
      assert.match(
        m[2],
        /^DEADLINE_EXCEEDED: Deadline exceeded(?: after Ns,remote_addr=127\.0\.0\.1:\d+)?$/,
        block,
      );
    }
    const r = await readResultsFile(out);
    assert.equal(r.end?.valid, false);
    assert.equal(r.lines.length, 20);
    // The tools' gate exits as the run did: INVALID with --slo is 3 (this SLO fails: 5).
    const sum = await summarizeCommand([out, "--slo", "p99<1s"]);
    assert.match(sum.stdout, /Run verdict: INVALID: no call got through: all 20 failed/);
    assert.equal(sum.code, 5, sum.stdout + sum.stderr);
  } finally {
    await df.stop();
  }
});

Deno.test("steady says at once why it cannot connect, naming the cause", async (t) => {
  const dir = await tempResults();
  const env = await smftEnv();
  const steady = (extra: Record<string, string>, args: string[] = []) =>
    run(
      [
        ...SMFT,
        "steady",
        ...SHORT,
        "--out",
        join(dir, "x.txt"),
        "--connect-timeout-ms",
        "5000",
        ...args,
      ],
      { ...env, ...extra },
    );
  await t.step("nothing listening: refused, well before the 5 s timeout", async () => {
    const port = closedPort();
    const t0 = performance.now();
    const r = await steady({ DF_PORT: String(port) });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(performance.now() - t0 < 4000, "failed fast");
    assert.match(
      oneLine(r.stderr),
      new RegExp(
        `connection refused by 127\\.0\\.0\\.1:${port}: df is not running there, or not on port ${port}`,
      ),
    );
  });
  await t.step("DF_HOST with a port", async () => {
    const r = await steady({ DF_HOST: "127.0.0.1:41101" });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      oneLine(r.stderr),
      /DF_HOST="127\.0\.0\.1:41101" .*without a port: give the port with --port\/DF_PORT \(e\.g\. DF_HOST=127\.0\.0\.1 DF_PORT=41101\)/,
    );
    assert.doesNotMatch(r.stderr, /41101:41101/);
  });
  await t.step("DF_HOST a URL", async () => {
    const r = await steady({ DF_HOST: "https://localhost" });
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /not a URL: drop "https:\/\/"/);
  });
  await t.step("TLS against a plaintext df", async () => {
    const df = await startDfProcess({ TLS_MODE: "insecure", DF_ALLOW_INSECURE: "1" });
    try {
      const t0 = performance.now();
      const r = await steady({ DF_PORT: String(df.port) });
      assert.equal(r.code, 1, r.stderr);
      assert.ok(performance.now() - t0 < 4000, "failed fast");
      assert.match(oneLine(r.stderr), /TLS handshake failed: .*df does not answer in TLS on port/);
    } finally {
      await df.stop();
    }
  });
  await t.step("plaintext against a TLS df", async () => {
    const df = await startDfProcess();
    try {
      const t0 = performance.now();
      const r = await steady(
        { DF_PORT: String(df.port), TLS_MODE: "insecure", SMFT_ALLOW_INSECURE: "1" },
      );
      assert.equal(r.code, 1, r.stderr);
      assert.ok(performance.now() - t0 < 4000, "failed fast");
      assert.match(
        r.stderr.trim().split("\n").at(-1)!,
        /smft speaks plaintext \(TLS_MODE=insecure\); is df serving TLS/,
      );
    } finally {
      await df.stop();
    }
  });
});

Deno.test("coldconn has its own rate: N_RPS (steady's) is ignored, COLD_RPS and --rps are read", async (t) => {
  const df = await startDfProcess();
  const dir = await tempResults();
  try {
    await t.step("N_RPS=500 in the environment", async () => {
      const out = join(dir, "a.txt");
      const smft = await startSmft(["coldconn", "--attempts", "2", "--out", out, "--quiet"], {
        DF_PORT: String(df.port),
        N_RPS: "500",
      });
      assertRanToEnd((await waitAtMost(smft, 30_000)).code, smft.stdout, smft.stderr);
      assert.equal((await readResultsFile(out)).meta.rate, 1);
    });
    await t.step("COLD_RPS=20 and --payload", async () => {
      const out = join(dir, "b.txt");
      const smft = await startSmft(
        ["coldconn", "--attempts", "3", "--payload", "[1,2,3]", "--out", out, "--quiet"],
        { DF_PORT: String(df.port), N_RPS: "500", COLD_RPS: "20" },
      );
      assertRanToEnd((await waitAtMost(smft, 30_000)).code, smft.stdout, smft.stderr);
      const r = await readResultsFile(out);
      assert.equal(r.meta.rate, 20);
      // "[1,2,3]" in its protobuf field (2 bytes of tag and length), not the 64-feature default.
      assert.equal(r.meta.payload_bytes, 9);
      assert.ok(r.lines.every((l) => l.ok === true));
    });
    await t.step("--warmup and --connect-timeout-ms are explained", async () => {
      for (
        const [flag, why] of [["--warmup", /counted in attempts: --warmup-attempts/], [
          "--connect-timeout-ms",
          /--deadline-ms bounds each attempt/,
        ]] as const
      ) {
        const r = await run([...SMFT, "coldconn", flag, "1"], await smftEnv());
        assert.equal(r.code, 1, r.stderr);
        assert.match(oneLine(r.stderr), why);
      }
    });
  } finally {
    await df.stop();
  }
});

Deno.test("shards of one run share a run_id in #META; separate runs do not", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const dir = await tempResults();
  try {
    const startAt = String(Date.now() + 4000);
    const shard = (k: number) =>
      startSmft(
        [
          "steady",
          ...SHORT,
          "--shard",
          `${k}/2`,
          "--start-at",
          startAt,
          "--out",
          join(dir, "s.txt"),
        ],
        { DF_PORT: String(df.port) },
      );
    const [a, b] = [await shard(1), await shard(2)];
    for (const p of [a, b]) assertRanToEnd((await waitAtMost(p, 30_000)).code, p.stdout, p.stderr);
    const ra = await readResultsFile(join(dir, "s_shard1of2.txt"));
    const rb = await readResultsFile(join(dir, "s_shard2of2.txt"));
    assert.match(String(ra.meta.run_id), /^[0-9a-f]{12}$/);
    assert.equal(ra.meta.run_id, rb.meta.run_id);
    const other = await startSmft(["steady", ...SHORT, "--out", join(dir, "t.txt")], {
      DF_PORT: String(df.port),
    });
    assertRanToEnd((await waitAtMost(other, 30_000)).code, other.stdout, other.stderr);
    assert.notEqual((await readResultsFile(join(dir, "t.txt"))).meta.run_id, ra.meta.run_id);
  } finally {
    await df.stop();
  }
});
