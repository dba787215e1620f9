/**
 * df end to end: a real df process, real grpc-js clients over real TLS 1.3 on loopback.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import { createCa, issueCert } from "../certs/generate.ts";
import { HANDLING_METADATA_KEY } from "../proto/score.ts";
import {
  DF_PERMISSIONS,
  emptyEnvFile,
  run,
  scoreClient,
  startDfProcess,
  testCerts,
} from "./helpers.ts";

Deno.test("df answers GetScore over mTLS with a score in [0, 1) and its handling time", async () => {
  const df = await startDfProcess({ DELAY_MS: "5" });
  const client = await scoreClient(df.port);
  try {
    for (let i = 0; i < 5; i++) {
      const r = await client.call();
      assert.equal(r.ok, true, String(r.details));
      assert.ok(r.score! >= 0 && r.score! < 1, `score ${r.score}`);
      const us = Number(r.trailers?.get(HANDLING_METADATA_KEY)[0]);
      // The hold is 5 ms: df's own time can never be less, and is not wildly more.
      assert.ok(us >= 5000 && us < 50_000, `handling ${us} µs`);
    }
  } finally {
    client.close();
    await df.stop();
  }
  assert.match(df.stdout, /tls=mtls \(TLS 1\.3 only, client certificate required/);
  assert.match(df.stdout, /df stopped: calls=5 \(OK=5\) connections=1 refused=0/);
});

Deno.test("df refuses clients without a valid TLS 1.3 client certificate, and logs each", async (t) => {
  const certs = await testCerts();
  const dir = await Deno.makeTempDir({ prefix: "df-refuse-" });
  const other = await createCa({ out: join(dir, "other-ca") });
  const foreign = await issueCert({
    caCrt: other.crt,
    caKey: other.key,
    out: join(dir, "foreign"),
    cn: "smft-client",
    kind: "client",
  });
  const expired = await issueCert({
    caCrt: certs.caCrt,
    caKey: certs.caKey,
    out: join(dir, "expired"),
    cn: "smft-client",
    kind: "client",
    notBefore: new Date(Date.now() - 10 * 86400_000),
    notAfter: new Date(Date.now() - 86400_000),
  });
  const df = await startDfProcess({ DF_LOG_INTERVAL_MS: "0" });
  const cases: [string, Parameters<typeof scoreClient>[1], RegExp][] = [
    ["no client certificate", { mode: "tls" }, /no client certificate/],
    [
      "a certificate from another CA",
      { cert: foreign.crt, key: foreign.key },
      /client certificate not accepted/,
    ],
    // Deno's TLS server reports the same code for these: df names only what it can tell apart.
    [
      "an expired certificate",
      { cert: expired.crt, key: expired.key },
      /client certificate not accepted \(unknown CA, expired/,
    ],
    ["a TLS 1.2-only client", { tls12Only: true }, /TLS 1\.3/],
  ];
  try {
    for (const [name, tlsOpts, logged] of cases) {
      await t.step(name, async () => {
        const client = await scoreClient(df.port, tlsOpts);
        const from = df.stderr.length;
        try {
          const r = await client.call("[1]", 3000);
          assert.equal(r.ok, false);
          assert.equal(r.code, grpc.status.UNAVAILABLE, String(r.details));
          const line = new RegExp(`refused 127\\.0\\.0\\.1:\\d+: .*${logged.source}`);
          await df.waitFor(line, "stderr", 10_000, from);
        } finally {
          client.close();
        }
      });
    }
    // Still serving the legitimate client afterwards.
    const ok = await scoreClient(df.port);
    assert.equal((await ok.call()).ok, true);
    ok.close();
  } finally {
    await df.stop();
  }
  const refused = Number(df.stdout.match(/refused=(\d+)/)?.[1]);
  assert.ok(refused >= cases.length, df.stdout);
});

Deno.test("df answers invalid JSON with INVALID_ARGUMENT", async () => {
  const df = await startDfProcess();
  const client = await scoreClient(df.port);
  try {
    const r = await client.call("{not json");
    assert.equal(r.code, grpc.status.INVALID_ARGUMENT);
    assert.match(r.details!, /not valid JSON/);
    assert.equal((await client.call()).ok, true);
  } finally {
    client.close();
    await df.stop();
  }
});

Deno.test("df in tls mode accepts a client without a certificate", async () => {
  const df = await startDfProcess({ TLS_MODE: "tls" });
  const client = await scoreClient(df.port, { mode: "tls" });
  try {
    assert.equal((await client.call()).ok, true);
  } finally {
    client.close();
    await df.stop();
  }
  assert.match(df.stdout, /tls=tls \(TLS 1\.3 only, no client certificate\)/);
});

Deno.test("df lets calls in flight finish on SIGTERM, then prints totals and exits 0", async () => {
  const df = await startDfProcess({ DELAY_MS: "800" });
  const client = await scoreClient(df.port);
  try {
    assert.equal((await client.call()).ok, true); // connection up
    const inflight = Array.from({ length: 20 }, () => client.call());
    await new Promise((r) => setTimeout(r, 200));
    df.kill("SIGTERM");
    const results = await Promise.all(inflight);
    assert.deepEqual(results.map((r) => r.ok), results.map(() => true));
  } finally {
    client.close();
  }
  const status = await df.wait();
  assert.equal(status.code, 0);
  assert.match(df.stdout, /df stopped: calls=21 \(OK=21\)/);
});

Deno.test("df survives 20 rounds of a fresh channel carrying 200 concurrent calls then closed", async () => {
  // Deno 2.9.4-2.9.6 abort here (denoland/deno#36788); this is the regression guard.
  const df = await startDfProcess({ DELAY_MS: "1" });
  try {
    for (let round = 0; round < 20; round++) {
      const client = await scoreClient(df.port);
      const results = await Promise.all(Array.from({ length: 200 }, () => client.call()));
      assert.equal(results.filter((r) => r.ok).length, 200, `round ${round}`);
      client.close();
    }
    const after = await scoreClient(df.port);
    assert.equal((await after.call()).ok, true);
    after.close();
  } finally {
    await df.stop();
  }
  assert.match(df.stdout, /connections=21 /);
});

Deno.test("df rejects bad configuration with one line and exit code 1", async (t) => {
  const certs = await testCerts();
  const base = {
    // The user's own df/.env must not decide these cases.
    ENV_FILE: await emptyEnvFile(),
    TLS_CA: certs.caCrt,
    TLS_CERT: certs.serverCrt,
    TLS_KEY: certs.serverKey,
    DF_HOST: "127.0.0.1",
    DF_PORT: "0",
  };
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const cases: [string, Record<string, string>, string[], RegExp][] = [
    [
      "a port out of range",
      { DF_PORT: "70000" },
      [],
      /DF_PORT="70000" \(environment\): expected an integer/,
    ],
    ["a negative delay", {}, ["--delay-ms=-1"], /--delay-ms="-1": expected a number/],
    [
      "an unknown TLS mode",
      { TLS_MODE: "ssl" },
      [],
      /TLS_MODE="ssl" \(environment\): expected one of mtls, tls, insecure/,
    ],
    ["a missing certificate", { TLS_CERT: "/nonexistent/server.crt" }, [], /TLS_CERT .*not found/],
    ["a key that does not match", { TLS_KEY: certs.clientKey }, [], /does not match/],
    ["a port in use", { DF_PORT: String(busy.addr.port) }, [], /already in use/],
    ["an unknown flag", {}, ["--colour"], /Unknown option '--colour'/],
    ["insecure without consent", { TLS_MODE: "insecure" }, [], /--allow-insecure/],
    ["a missing env file", {}, ["--env-file", "/nonexistent/.env"], /env-file .*not found/],
  ];
  try {
    for (const [name, env, args, expected] of cases) {
      await t.step(name, async () => {
        const r = await run(["run", ...DF_PERMISSIONS, "df/main.ts", ...args], { ...base, ...env });
        assert.equal(r.code, 1, r.stderr);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], /^df: /);
        assert.match(lines[0], expected);
      });
    }
  } finally {
    busy.close();
  }
});
