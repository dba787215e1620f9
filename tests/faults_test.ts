/**
 * Faults and abuse, with real df and smft processes over real TLS on loopback: df killed and
 * restarted under load, connection churn with df's memory watched, hundreds of idle and
 * malicious connections, and an offered load far beyond what df can serve.
 *
 * df paused (SIGSTOP) past the deadline is in tests/steady_test.ts.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { join } from "node:path";
import {
  assertRanToEnd,
  openFileLimit,
  readResultsFile,
  rssKiB,
  scoreClient,
  startDfProcess,
  startSmft,
  tempResults,
  tlsHandshake,
  waitAtMost,
} from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts that the lines' planned send times are exactly `1000 / rate` ms apart from 0. */
function assertEvenlySpaced(lines: Record<string, unknown>[], rate: number): void {
  const t = lines.map((l) => l.t_ms as number).sort((a, b) => a - b);
  t.forEach((v, i) =>
    assert.ok(Math.abs(v - (i * 1000) / rate) < 0.002, `request ${i} planned at ${v} ms`)
  );
}

Deno.test("steady keeps its schedule while df is killed and restarted on the same port, and reconnects", async () => {
  const first = await startDfProcess({ DELAY_MS: "1" });
  const port = first.port;
  const out = join(await tempResults(), "restart.txt");
  let second: Awaited<ReturnType<typeof startDfProcess>> | undefined;
  const smft = await startSmft(
    [
      "steady",
      "--rps",
      "100",
      "--duration",
      "5",
      "--warmup",
      "0",
      "--deadline-ms",
      "500",
      "--out",
      out,
      "--quiet",
    ],
    { DF_PORT: String(port) },
  );
  try {
    await smft.waitFor(/^smft: measuring/m, "stderr");
    await sleep(1000);
    await first.stop("SIGKILL");
    await sleep(800);
    // The same port: the channel must find df again where it was.
    for (let i = 0; !second; i++) {
      try {
        second = await startDfProcess({ DELAY_MS: "1", DF_PORT: String(port) });
      } catch (e) {
        if (i >= 10 || !/already in use/.test(String(e))) throw e;
        await sleep(200);
      }
    }
    const status = await waitAtMost(smft, 30_000);
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
  } finally {
    smft.kill("SIGKILL");
    await first.stop("SIGKILL");
    await second?.stop();
  }
  const r = await readResultsFile(out);
  // One line per planned request, on the plan throughout.
  assert.equal(r.lines.length, 500);
  assert.equal(r.end?.count, 500);
  assertEvenlySpaced(r.lines, 100);
  const sorted = [...r.lines].sort((a, b) => (a.t_ms as number) - (b.t_ms as number));
  const failed = sorted.filter((l) => l.ok !== true);
  const unavailable = failed.filter((l) => l.code === "UNAVAILABLE");
  assert.ok(unavailable.length >= 20, `${unavailable.length} UNAVAILABLE lines while df was down`);
  // Calls in flight when df died may end otherwise; nothing else fails.
  for (const l of failed) {
    assert.ok(
      ["UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "CANCELLED"].includes(String(l.code)),
      JSON.stringify(l),
    );
  }
  const firstFail = sorted.indexOf(failed[0]);
  const lastFail = sorted.indexOf(failed.at(-1)!);
  assert.ok(sorted.slice(0, firstFail).length >= 50, "calls succeeded before the kill");
  const after = sorted.slice(lastFail + 1);
  assert.ok(after.length >= 20, `${after.length} ok lines after the restart`);
  assert.ok(after.every((l) => l.ok === true));
  // The second df served them, over the channel's new connection.
  const calls = Number(second!.stdout.match(/calls=(\d+)/)?.[1]);
  assert.ok(calls >= after.length, second!.stdout);
  console.log(
    `  restart: ${failed.length} failed while df was down (${unavailable.length} UNAVAILABLE), ` +
      `${after.length} ok after it came back`,
  );
});

Deno.test("df survives 50 rounds of a fresh channel with 200 concurrent calls, and its memory stays bounded", async () => {
  // tests/df_test.ts has the 20-round regression guard for denoland/deno#36788; this one runs
  // longer and watches df's resident memory.
  const df = await startDfProcess({ DELAY_MS: "0" });
  const round = async (i: number) => {
    const client = await scoreClient(df.port);
    try {
      const results = await Promise.all(Array.from({ length: 200 }, () => client.call()));
      assert.equal(results.filter((r) => r.ok).length, 200, `round ${i}`);
    } finally {
      client.close();
    }
  };
  let start = 0;
  let before = 0;
  let after = 0;
  try {
    await round(-1);
    start = await rssKiB(df.pid);
    // Ten rounds first: V8 grows df's heap to a working size before it levels off. Measured on
    // this 2-core machine (Deno 2.9.3): 86 MB after one round, 143 MB after 10, ~206 MB from
    // round 40 on, 222 MB after 150 rounds and 233 MB after 300 (199 MB after 150 rounds over
    // one reused connection). So "before" is taken after the warm-up.
    for (let i = 0; i < 10; i++) await round(i - 10);
    await sleep(200);
    before = await rssKiB(df.pid);
    for (let i = 0; i < 50; i++) await round(i);
    await sleep(500);
    after = await rssKiB(df.pid);
    const last = await scoreClient(df.port);
    assert.equal((await last.call()).ok, true);
    last.close();
  } finally {
    await df.stop();
  }
  const mb = (kib: number) => (kib / 1024).toFixed(1);
  console.log(
    `  df RSS: ${mb(start)} MB after one round, ${mb(before)} MB after 10 (before), ` +
      `${mb(after)} MB after 50 more rounds (10,000 calls on 50 connections): ` +
      `growth ${mb(after - before)} MB`,
  );
  // Generous on purpose: V8 keeps a collected heap at its high-water mark, so RSS is a coarse
  // signal. What this catches is a leak that grows with calls or connections: 150 MB over 10,000
  // calls is 15 KB per call, or 3 MB per connection.
  assert.ok(after - before < 150 * 1024, `RSS grew ${after - before} KiB`);
  assert.match(df.stdout, /connections=62 /);
  assert.match(df.stdout, /calls=12201 \(OK=12201\)/);
});

/** Raw TCP connections that never become TLS: random bytes, or a ClientHello cut short. */
function maliciousConnections(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(Array.from({ length: n }, (_, i) =>
    new Promise<net.Socket>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        if (i % 2 === 0) {
          s.write(crypto.getRandomValues(new Uint8Array(512)));
        } else {
          // A TLS record header announcing a 512-byte ClientHello, then 40 of its bytes: the
          // peer stops halfway through the handshake and stays silent.
          const hello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]);
          s.write(hello);
          s.write(crypto.getRandomValues(new Uint8Array(31)));
        }
        resolve(s);
      });
      s.on("error", () => {});
    })));
}

const IDLE = 500;
const MALICIOUS = 50;
/** Each connection is a descriptor in this test process and in df, plus smft's and Deno's own. */
const FDS_NEEDED = 2 * (IDLE + MALICIOUS) + 200;
const fdLimit = await openFileLimit();

Deno.test({
  name: `df serves a steady run at full rate while ${IDLE} idle TLS and ${MALICIOUS} garbage ` +
    `connections hang on${
      fdLimit < FDS_NEEDED ? ` (SKIPPED: ulimit -n is ${fdLimit}, this needs ${FDS_NEEDED})` : ""
    }`,
  // Deno cannot raise its own limit; run `ulimit -n 4096` in the shell that starts the tests.
  ignore: fdLimit < FDS_NEEDED,
  async fn() {
    const df = await startDfProcess({ DELAY_MS: "1" });
    const out = join(await tempResults(), "abuse.txt");
    const idle: Awaited<ReturnType<typeof tlsHandshake>>[] = [];
    let bad: net.Socket[] = [];
    try {
      // Complete mTLS handshakes with the right certificate, then silence (no HTTP/2 preface).
      for (let i = 0; i < IDLE; i += 50) {
        idle.push(...await Promise.all(Array.from({ length: 50 }, () => tlsHandshake(df.port))));
      }
      assert.equal(idle.filter((c) => c.secure).length, IDLE, "every idle connection is up");
      bad = await maliciousConnections(df.port, MALICIOUS);
      await sleep(300);
      // The connect may queue behind df's 550 other sockets once in a while (seen 1 in ~15
      // runs at 5 s); the run itself must still be served at full rate.
      const smft = await startSmft(
        ["steady", "--rps", "200", "--duration", "3", "--warmup", "0.5", "--out", out, "--quiet"],
        { DF_PORT: String(df.port), CONNECT_TIMEOUT_MS: "20000" },
      );
      const status = await waitAtMost(smft, 45_000);
      assertRanToEnd(
        status.code,
        smft.stdout,
        `${smft.stderr}\ndf: ${df.stderr.split("\n").slice(-5).join("\n")}`,
      );
      const stillOpen = idle.filter((c) => !c.socket.destroyed && c.socket.readyState === "open");
      console.log(
        `  ${stillOpen.length} of ${IDLE} idle TLS connections still open after the run; ` +
          `${bad.filter((s) => !s.destroyed).length} of ${MALICIOUS} garbage connections`,
      );
    } finally {
      for (const c of idle) c.socket.destroy();
      for (const s of bad) s.destroy();
      await df.stop();
    }
    const r = await readResultsFile(out);
    assert.equal(r.lines.length, 600);
    assert.ok(r.lines.every((l) => l.ok === true), "every call succeeded");
    const achieved = r.end?.achieved_rps as number;
    assert.ok(Math.abs(achieved - 200) / 200 < 0.03, `achieved ${achieved}/s of 200/s`);
    // The random-byte half is refused as not TLS at once; the truncated half when it closes.
    // Each garbage connection is refused once (the random-byte half as "not a TLS handshake" at
    // once, the truncated half when it closes); the idle ones completed their handshake.
    const refused = Number(df.stdout.match(/refused=(\d+)/)?.[1]);
    console.log(`  df: ${df.stdout.match(/refused=.*$/m)?.[0]}`);
    assert.ok(refused >= MALICIOUS / 2 && refused <= MALICIOUS, `refused=${refused}`);
    assert.match(
      df.stderr,
      /refused 127\.0\.0\.1:\d+: not a TLS handshake \(plaintext or garbage\)/,
    );
    assert.match(df.stdout, /calls=700 \(OK=700\)/);
  },
});

Deno.test("overload: 7,000/s then 20,000/s offered, df does not crash and smft records every outcome", async () => {
  // Measured on this 2-core machine: df (5 ms hold) and smft side by side serve ~5,000/s with
  // every call ok. Beyond that the generator saturates first (its grpc-js calls queue in its own
  // process): at 7,000/s df still receives and answers ~1,000 calls while most time out; at
  // 20,000/s almost none reach df before their 500 ms deadline. Both runs must account for every
  // planned request, and df must come out of both alive.
  const df = await startDfProcess({ DELAY_MS: "5" });
  const dir = await tempResults();
  const runs = [{ rate: 7000, durationS: 2 }, { rate: 20_000, durationS: 1 }];
  const stdout: string[] = [];
  try {
    for (const [i, { rate, durationS }] of runs.entries()) {
      const smft = await startSmft(
        [
          "steady",
          "--rps",
          String(rate),
          "--duration",
          String(durationS),
          "--warmup",
          "0",
          "--deadline-ms",
          "500",
          "--out",
          join(dir, `overload-${i}.txt`),
          "--quiet",
        ],
        { DF_PORT: String(df.port) },
      );
      const status = await waitAtMost(smft, 90_000);
      stdout.push(smft.stdout);
      // At 20,000/s no call may get through at all: that run then exits 1 and says so.
      if (status.code === 1) {
        assert.match(smft.stderr, /^smft: no call got through to localhost:\d+: all \d+ failed/m);
      } else assertRanToEnd(status.code, smft.stdout, smft.stderr);
      // df is still there, and answers.
      const client = await scoreClient(df.port);
      assert.equal((await client.call()).ok, true, `df answers after ${rate}/s`);
      client.close();
    }
  } finally {
    await df.stop();
  }
  assert.equal((await df.wait()).code, 0, "df stopped cleanly");
  for (const [i, { rate, durationS }] of runs.entries()) {
    const planned = rate * durationS;
    const r = await readResultsFile(join(dir, `overload-${i}.txt`));
    assert.equal(r.lines.length, planned, "one line per planned request");
    assert.equal(r.end?.count, planned);
    assert.equal(r.end?.planned, planned);
    const failed = r.lines.filter((l) => l.ok !== true);
    for (const l of failed) assert.equal(typeof l.code, "string", JSON.stringify(l));
    const errors = Object.values(r.end?.errors as Record<string, number>)
      .reduce((a, b) => a + b, 0);
    assert.equal(errors, failed.length, "#END counts every failure");
    // The verdict says what happened: the generator could not keep the plan, or calls failed.
    assert.ok(
      /INVALID: the generator/.test(stdout[i]) || failed.length > 0,
      stdout[i],
    );
    if (failed.length > 0) assert.match(stdout[i], new RegExp(`Errors: ${failed.length} \\(`));
    console.log(
      `  ${rate}/s for ${durationS} s: ${
        r.lines.length - failed.length
      } ok, ${failed.length} failed ${JSON.stringify(r.end?.errors)}; ${
        stdout[i].match(/^(VALID|INVALID).*$/m)?.[0]
      }`,
    );
  }
  const served = df.stdout.match(/calls=(\d+) \(([^)]*)\)/);
  console.log(`  df handled ${served?.[1]} calls in all (${served?.[2]}), and stopped cleanly`);
});
