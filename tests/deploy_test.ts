/**
 * Real deployments: df and smft on two hosts (network namespaces joined by a veth pair), and
 * several load hosts sharing one schedule (`--shard`, `--start-at`) merged by summarize.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateCerts } from "../certs/generate.ts";
import {
  assertRanToEnd,
  DF_PERMISSIONS,
  Proc,
  readResultsFile,
  run,
  SMFT_PERMISSIONS,
  smftEnv,
  startDfProcess,
  startSmft,
  tempResults,
} from "./helpers.ts";

/** Runs `ip` and returns its status; never throws. */
async function ip(...args: string[]): Promise<{ ok: boolean; err: string }> {
  try {
    const r = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
    return { ok: r.success, err: new TextDecoder().decode(r.stderr).trim() };
  } catch (e) {
    return { ok: false, err: (e as Error).message };
  }
}

// Probe once: can this machine make network namespaces (Linux, root, iproute2)?
const tag = `${Deno.pid % 10000}`;
const probe = await (async () => {
  if (Deno.build.os !== "linux") return "not Linux";
  const name = `smftprobe${tag}`;
  const r = await ip("netns", "add", name);
  if (!r.ok) {
    return `cannot create a network namespace (${r.err || "ip failed"}); needs root and iproute2`;
  }
  await ip("netns", "del", name);
  return undefined;
})();

Deno.test({
  name: probe
    ? `df and smft on two hosts joined by a veth pair (SKIPPED: ${probe})`
    : "df and smft on two hosts joined by a veth pair: steady and coldconn across it",
  ignore: probe !== undefined,
  async fn() {
    // Addresses in a private range, only ever inside these two namespaces.
    const net = `10.${200 + (Deno.pid % 50)}.${Deno.pid % 250}`;
    const [server, client] = [`${net}.1`, `${net}.2`];
    const [nsA, nsB] = [`smftdf${tag}`, `smftld${tag}`];
    const [vA, vB] = [`smfta${tag}`, `smftb${tag}`];
    const dir = await tempResults("smft-twohost-");
    try {
      for (
        const args of [
          ["netns", "add", nsA],
          ["netns", "add", nsB],
          ["link", "add", vA, "type", "veth", "peer", "name", vB],
          ["link", "set", vA, "netns", nsA],
          ["link", "set", vB, "netns", nsB],
          ["-n", nsA, "addr", "add", `${server}/24`, "dev", vA],
          ["-n", nsB, "addr", "add", `${client}/24`, "dev", vB],
          ["-n", nsA, "link", "set", vA, "up"],
          ["-n", nsB, "link", "set", vB, "up"],
          ["-n", nsA, "link", "set", "lo", "up"],
          ["-n", nsB, "link", "set", "lo", "up"],
        ]
      ) {
        const r = await ip(...args);
        assert.ok(r.ok, `ip ${args.join(" ")}: ${r.err}`);
      }
      // The server certificate is issued for df's address on the link.
      const certs =
        (await generateCerts({ out: join(dir, "certs"), sans: [`IP:${server}`] })).files;
      const df = new Proc(
        ["netns", "exec", nsA, Deno.execPath(), "run", ...DF_PERMISSIONS, "df/main.ts"],
        {
          DF_HOST: server,
          DF_PORT: "50051",
          DELAY_MS: "5",
          TLS_CA: certs.caCrt,
          TLS_CERT: certs.serverCrt,
          TLS_KEY: certs.serverKey,
        },
        { command: "ip" },
      );
      try {
        await df.waitFor(/listening on \S+:50051/);
        const env = {
          DF_HOST: server,
          DF_PORT: "50051",
          TLS_CA: certs.caCrt,
          TLS_CERT: certs.clientCrt,
          TLS_KEY: certs.clientKey,
        };
        const smft = (args: string[]) =>
          run(
            [
              "netns",
              "exec",
              nsB,
              Deno.execPath(),
              "run",
              ...SMFT_PERMISSIONS,
              "tools/main.ts",
              ...args,
            ],
            env,
            {
              command: "ip",
            },
          );
        const steady = await smft([
          "steady",
          "--rps",
          "100",
          "--duration",
          "2",
          "--warmup",
          "0.5",
          "--quiet",
          "--out",
          join(dir, "steady.txt"),
        ]);
        assertRanToEnd(steady.code, steady.stdout, steady.stderr);
        const cold = await smft([
          "coldconn",
          "--rps",
          "5",
          "--attempts",
          "5",
          "--quiet",
          "--out",
          join(dir, "cold.txt"),
        ]);
        assertRanToEnd(cold.code, cold.stdout, cold.stderr);
        const s = await readResultsFile(join(dir, "steady.txt"));
        assert.equal(s.lines.length, 200);
        assert.ok(s.lines.every((l) => l.ok === true));
        assert.equal(s.meta.target, `${server}:50051`);
        const c = await readResultsFile(join(dir, "cold.txt"));
        assert.equal(c.lines.length, 5);
        assert.ok(c.lines.every((l) => l.ok === true && l.tls === "TLSv1.3"));
      } finally {
        await df.stop();
      }
      // df saw the load host's address, not loopback: the traffic crossed the veth.
      assert.match(
        df.stdout,
        // steady's one connection, coldconn's 5 attempts and its warm-up attempt.
        new RegExp(`peers: ${server.replaceAll(".", "\\.").replace(/1$/, "2")}=7\\b`),
      );
    } finally {
      await ip("netns", "del", nsA);
      await ip("netns", "del", nsB);
    }
  },
});

Deno.test("two shards started at one instant send one even schedule that summarize merges", async () => {
  const df = await startDfProcess({ DELAY_MS: "2" });
  const dir = await tempResults("smft-shards-");
  // Far enough ahead that both processes have started (and checked it is not past) by then.
  const startAt = String(Date.now() + 5000);
  try {
    const shards = await Promise.all(["1/2", "2/2"].map((shard) =>
      startSmft(
        [
          "steady",
          "--rps",
          "200",
          "--duration",
          "2",
          "--warmup",
          "0",
          "--quiet",
          "--shard",
          shard,
          "--start-at",
          startAt,
        ],
        { DF_PORT: String(df.port), RESULTS_FILE: join(dir, "01_steady_results.txt") },
      )
    ));
    for (const s of shards) assertRanToEnd((await s.wait()).code, s.stdout, s.stderr);
  } finally {
    await df.stop();
  }
  const a = await readResultsFile(join(dir, "01_steady_results_shard1of2.txt"));
  const b = await readResultsFile(join(dir, "01_steady_results_shard2of2.txt"));
  assert.equal(a.lines.length, 200);
  assert.equal(b.lines.length, 200);
  assert.equal(a.meta.start_epoch_ms, b.meta.start_epoch_ms);
  // Interleaved: together the intended send times are one even 5 ms grid.
  const t = [...a.lines, ...b.lines].map((l) => l.t_ms as number).sort((x, y) => x - y);
  t.forEach((v, i) => assert.ok(Math.abs(v - i * 5) < 0.002, `request ${i} at ${v}`));
  const merged = await run(
    [
      "run",
      "--allow-read",
      "tools/main.ts",
      "summarize",
      "--json",
      join(dir, "01_steady_results_shard1of2.txt"),
      join(dir, "01_steady_results_shard2of2.txt"),
    ],
    await smftEnv(),
  );
  assert.equal(merged.code, 0, merged.stderr);
  const j = JSON.parse(merged.stdout);
  assert.equal(j.summary.total, 400);
  assert.equal(j.files.length, 2);
  assert.ok(
    Math.abs(j.summary.achievedRate - 200) / 200 < 0.02,
    `merged rate ${j.summary.achievedRate}`,
  );
});
