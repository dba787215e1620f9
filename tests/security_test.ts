/**
 * The security matrix, with real handshakes on loopback: df refuses every wrong client (and logs
 * and counts each refusal), smft refuses every df it cannot trust (and says why, naming the
 * phase), `tls` and `insecure` modes do what they say, and a readable private key is flagged.
 *
 * Certificates for the negative cases are made here, in a temporary folder, with
 * certs/generate.ts; none is committed.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as tls from "node:tls";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type CertPair, createCa, issueCert } from "../certs/generate.ts";
import { CERTIFICATE_NOT_ACCEPTED } from "../df/causes.ts";
import {
  assertRanToEnd,
  readResultsFile,
  scoreClient,
  startDfProcess,
  startSmft,
  tempResults,
  testCerts,
  tlsHandshake,
  waitAtMost,
} from "./helpers.ts";

const DAY = 86_400_000;
const SERVER_SANS = ["DNS:localhost", "IP:127.0.0.1"];

/** The bad certificates, made once per test process. */
interface BadCerts {
  dir: string;
  otherCa: CertPair;
  foreignClient: CertPair;
  expiredClient: CertPair;
  futureClient: CertPair;
  serverOnlyClient: CertPair;
  foreignServer: CertPair;
  expiredServer: CertPair;
}

let badOnce: Promise<BadCerts> | undefined;
function badCerts(): Promise<BadCerts> {
  badOnce ??= (async () => {
    const c = await testCerts();
    const dir = await Deno.makeTempDir({ prefix: "smft-bad-certs-" });
    const ours = { caCrt: c.caCrt, caKey: c.caKey };
    const otherCa = await createCa({ out: join(dir, "other-ca") });
    const theirs = { caCrt: otherCa.crt, caKey: otherCa.key };
    const past = {
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    };
    const future = {
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 10 * DAY),
    };
    const client = { cn: "smft-client", kind: "client" as const };
    const server = { cn: "localhost", kind: "server" as const, sans: SERVER_SANS };
    return {
      dir,
      otherCa,
      foreignClient: await issueCert({ ...theirs, ...client, out: join(dir, "foreign-client") }),
      expiredClient: await issueCert({
        ...ours,
        ...client,
        ...past,
        out: join(dir, "expired-client"),
      }),
      futureClient: await issueCert({
        ...ours,
        ...client,
        ...future,
        out: join(dir, "future-client"),
      }),
      // A certificate of our CA with serverAuth only: valid, but not for a client.
      serverOnlyClient: await issueCert({
        ...ours,
        cn: "smft-client",
        kind: "server",
        out: join(dir, "server-only-client"),
      }),
      foreignServer: await issueCert({ ...theirs, ...server, out: join(dir, "foreign-server") }),
      expiredServer: await issueCert({
        ...ours,
        ...server,
        ...past,
        out: join(dir, "expired-server"),
      }),
    };
  })();
  return badOnce;
}

Deno.test.afterAll(async () => {
  if (badOnce) await Deno.remove((await badOnce).dir, { recursive: true }).catch(() => {});
});

/** Deno's TLS server gives one verification code for four faults; df names what it knows. */
const NOT_ACCEPTED = CERTIFICATE_NOT_ACCEPTED;

/** Escapes a literal for a RegExp. */
function re(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One plaintext HTTP/2 connection to a TLS port; resolves with its client port once closed. */
function plaintextHttp2(port: number): Promise<number> {
  return new Promise((resolve) => {
    let localPort = 0;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("connect", () => localPort = session.socket?.localPort ?? 0);
    session.on("error", () => {});
    const req = session.request({ ":path": "/score.ScoreService/GetScore", ":method": "POST" });
    req.on("error", () => {});
    req.end();
    const timer = setTimeout(() => session.destroy(), 5000);
    session.on("close", () => {
      clearTimeout(timer);
      resolve(localPort);
    });
  });
}

Deno.test("df in mtls mode refuses seven kinds of wrong client, logs each once with its peer, and counts them", async (t) => {
  const bad = await badCerts();
  const df = await startDfProcess({ DF_LOG_INTERVAL_MS: "0" });
  // What df logs, per case, as observed on Deno 2.9.3: Deno's TLS server closes the connection
  // without an error when a client certificate fails and leaves one verification code on the
  // socket for a foreign CA, an expired or not yet valid certificate and one without clientAuth
  // alike, so those four share one honest reason. DF_LOG_INTERVAL_MS=0: a line per event.
  const pair = (p: CertPair) => ({ cert: p.crt, key: p.key });
  const cases: [string, Parameters<typeof tlsHandshake>[1] | "h2c", string][] = [
    ["no client certificate", { cert: null, key: null }, "no client certificate"],
    ["a client certificate from another CA", pair(bad.foreignClient), NOT_ACCEPTED],
    ["an expired client certificate", pair(bad.expiredClient), NOT_ACCEPTED],
    ["a client certificate not yet valid", pair(bad.futureClient), NOT_ACCEPTED],
    ["a certificate without the clientAuth usage", pair(bad.serverOnlyClient), NOT_ACCEPTED],
    ["a TLS 1.2-only client", { maxVersion: "TLSv1.2" }, "client does not offer TLS 1.3"],
    ["plaintext HTTP/2 on the TLS port", "h2c", "not a TLS handshake (plaintext or garbage)"],
  ];
  try {
    for (const [name, client, reason] of cases) {
      await t.step(name, async () => {
        const from = df.stderr.length;
        let port: number;
        if (client === "h2c") {
          port = await plaintextHttp2(df.port);
        } else {
          const conn = await tlsHandshake(df.port, { ...client, settleMs: 300 });
          port = conn.localPort;
          await Promise.race([conn.closed, new Promise((r) => setTimeout(r, 5000))]);
          conn.socket.destroy();
          // Refused: df never spoke HTTP/2 (its SETTINGS are the first bytes it sends).
          assert.equal(conn.received, 0, `df sent ${conn.received} bytes`);
        }
        assert.ok(port > 0, "the client's port is known");
        const line = new RegExp(`^df: refused 127\\.0\\.0\\.1:${port}: (.*)$`, "m");
        const m = await df.waitFor(line, "stderr", 10_000, from);
        assert.equal(m[1], reason);
        await new Promise((r) => setTimeout(r, 100));
        const all = df.stderr.match(new RegExp(`refused 127\\.0\\.0\\.1:${port}:`, "g"));
        assert.equal(all?.length, 1, "one line per refused connection");
      });
    }
    // The right client is still served.
    const ok = await scoreClient(df.port);
    assert.equal((await ok.call()).ok, true);
    ok.close();
  } finally {
    await df.stop();
  }
  assert.doesNotMatch(df.stderr, /WARNING/, "the test key is mode 0600: no warning");
  const stopped = df.stdout.match(/^df stopped: .*$/m)?.[0] ?? "";
  assert.match(stopped, /calls=1 \(OK=1\) connections=8 refused=7 \(/);
  for (
    const part of [
      "no client certificate: 1",
      `${NOT_ACCEPTED}: 4`,
      "client does not offer TLS 1.3: 1",
      "not a TLS handshake (plaintext or garbage): 1",
    ]
  ) {
    assert.ok(stopped.includes(part), `"${part}" in\n${stopped}`);
  }
});

/** A TLS 1.2-only server with the right certificate, as an old df would be. */
async function tls12Server(): Promise<{ port: number; close(): void }> {
  const c = await testCerts();
  const server = tls.createServer({
    cert: readFileSync(c.serverCrt),
    key: readFileSync(c.serverKey),
    maxVersion: "TLSv1.2",
    ALPNProtocols: ["h2"],
  }, (s) => s.destroy());
  server.on("tlsClientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

Deno.test("smft steady and coldconn refuse a df they cannot trust, or that refuses them, and say why and in which phase", async (t) => {
  const bad = await badCerts();
  const dir = await tempResults();
  const good = await startDfProcess();
  const foreign = await startDfProcess({
    TLS_CERT: bad.foreignServer.crt,
    TLS_KEY: bad.foreignServer.key,
  });
  const expired = await startDfProcess({
    TLS_CERT: bad.expiredServer.crt,
    TLS_KEY: bad.expiredServer.key,
  });
  const old = await tls12Server();
  // [name, smft's environment, the reason smft must give, the phase coldconn must record]
  const cases: [string, Record<string, string>, RegExp, string][] = [
    [
      "a server certificate from an unknown CA",
      { DF_PORT: String(foreign.port) },
      /TLS handshake failed: unable to get local issuer certificate: df's certificate \(CN=localhost\) is issued by CN=smft-other-test-ca, not by the CA in TLS_CA \(CN=smft-latency-test-ca [^)]*\)/,
      "tls",
    ],
    [
      "a server name that does not match",
      { DF_PORT: String(good.port), TLS_SERVER_NAME: "wrong.example" },
      /TLS handshake failed: Hostname\/IP does not match certificate's altnames: Host: wrong\.example\. is not in the cert's altnames: DNS:localhost/,
      "tls",
    ],
    [
      "an expired server certificate",
      { DF_PORT: String(expired.port) },
      /TLS handshake failed: unable to verify the first certificate: df's certificate \(CN=localhost\) expired on /,
      "tls",
    ],
    [
      "a server offering only TLS 1.2",
      { DF_PORT: String(old.port) },
      /TLS handshake failed: received fatal alert: ProtocolVersion \(df does not offer TLS 1\.3\)/,
      "tls",
    ],
    // The other way round: df refuses smft's certificate. TLS 1.3 ends the client's side of the
    // handshake first, so smft sees df close the connection right after it.
    [
      "its own client certificate refused by df",
      {
        DF_PORT: String(good.port),
        TLS_CERT: bad.foreignClient.crt,
        TLS_KEY: bad.foreignClient.key,
      },
      /df closed the connection after the TLS handshake, before HTTP\/2 SETTINGS: client certificate refused\?/,
      "h2",
    ],
  ];
  try {
    // Each case's two runs go side by side with the others': 10 processes, no timing asserted.
    const outcomes = await Promise.all(cases.map(async ([name, env], i) => {
      const steady = await startSmft(
        [
          "steady",
          "--rps",
          "10",
          "--duration",
          "1",
          "--warmup",
          "0",
          "--connect-timeout-ms",
          "3000",
          "--out",
          join(dir, `steady-${i}.txt`),
          "--quiet",
        ],
        env,
      );
      const cold = await startSmft(
        [
          "coldconn",
          "--rps",
          "10",
          "--attempts",
          "2",
          "--deadline-ms",
          "2000",
          "--out",
          join(dir, `cold-${i}.txt`),
          "--quiet",
        ],
        env,
      );
      const [steadyStatus, coldStatus] = await Promise.all([
        waitAtMost(steady, 30_000),
        waitAtMost(cold, 30_000),
      ]);
      return { name, steady, steadyStatus, cold, coldStatus };
    }));
    for (const [i, [name, , reason, phase]] of cases.entries()) {
      const o = outcomes[i];
      await t.step(`steady: ${name}`, async () => {
        assert.equal(o.steadyStatus.code, 1, o.steady.stderr);
        const lines = o.steady.stderr.trim().split("\n").filter((l) => l.startsWith("smft: "));
        assert.equal(lines.length, 1, o.steady.stderr);
        assert.match(lines[0], /^smft: cannot reach df at localhost:\d+ within 3000 ms: /);
        assert.match(lines[0], reason);
        assert.doesNotMatch(o.steady.stderr, /\n\s+at /, "no stack trace");
        await assert.rejects(Deno.stat(join(dir, `steady-${i}.txt`)), "no results file");
      });
      await t.step(`coldconn: ${name}`, async () => {
        // Every attempt refused: its results file is written, and as no attempt got through,
        // it exits 1 (df unreachable) with one line naming the reason.
        assert.equal(o.coldStatus.code, 1, o.cold.stderr);
        assert.match(
          o.cold.stderr,
          /^smft: no attempt got through to localhost:\d+: all 2 failed/m,
        );
        assert.doesNotMatch(o.cold.stderr, /\n\s+at /, "no stack trace");
        const r = await readResultsFile(join(dir, `cold-${i}.txt`));
        assert.equal(r.lines.length, 2, "one line per attempt");
        assert.equal(r.end?.count, 2);
        for (const l of r.lines) {
          assert.equal(l.ok, false);
          assert.equal(l.phase, phase, JSON.stringify(l));
          assert.equal(l.code, "UNAVAILABLE");
          assert.match(String(l.error), reason);
          assert.equal(typeof l.t_tcp_ms, "number", "TCP connected before TLS failed");
        }
      });
    }
  } finally {
    old.close();
    await Promise.all([good.stop(), foreign.stop(), expired.stop()]);
  }
  // df's side of the same handshakes: the client refused df, and df says so.
  assert.match(
    foreign.stderr,
    /df: refused 127\.0\.0\.1:\d+: the client does not accept df's certificate \(alert UnknownCA\)/,
  );
  assert.match(
    expired.stderr,
    /df: refused 127\.0\.0\.1:\d+: the client does not accept df's certificate \(alert CertificateExpired\)/,
  );
  assert.match(expired.stderr, /df: WARNING: certificate .* expired on /);
});

Deno.test("tls mode: smft steady without a client certificate runs end to end", async () => {
  const df = await startDfProcess({ TLS_MODE: "tls" });
  const out = join(await tempResults(), "tls.txt");
  try {
    const smft = await startSmft(
      ["steady", "--rps", "100", "--duration", "1", "--warmup", "0", "--out", out, "--quiet"],
      // No client certificate or key exists: tls mode must not need them.
      {
        DF_PORT: String(df.port),
        TLS_MODE: "tls",
        TLS_CERT: "/nonexistent/client.crt",
        TLS_KEY: "/nonexistent/client.key",
      },
    );
    const status = await waitAtMost(smft, 30_000);
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    assert.match(smft.stderr, /\(tls, verify localhost\)/);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.meta.tls_mode, "tls");
  assert.equal((r.meta.tls as { version: string }).version, "TLSv1.3");
  assert.equal(r.lines.length, 100);
  assert.ok(r.lines.every((l) => l.ok === true));
  assert.match(df.stdout, /tls=tls \(TLS 1\.3 only, no client certificate\)/);
  assert.match(df.stdout, /refused=0/);
});

Deno.test("insecure mode with --allow-insecure on both sides: a plaintext run works and both warn", async () => {
  // Without the flag, each side refuses (tests/config_test.ts, "insecure without consent").
  const df = await startDfProcess({ TLS_MODE: "insecure" }, ["--allow-insecure"]);
  const out = join(await tempResults(), "plain.txt");
  try {
    const smft = await startSmft(
      [
        "steady",
        "--rps",
        "50",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--allow-insecure",
        "--out",
        out,
        "--quiet",
      ],
      { DF_PORT: String(df.port), TLS_MODE: "insecure" },
    );
    const status = await waitAtMost(smft, 30_000);
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    assert.match(smft.stderr, /^smft: WARNING: TLS_MODE=insecure: plaintext/m);
  } finally {
    await df.stop();
  }
  await df.waitFor(/^df: WARNING: TLS_MODE=insecure: plaintext HTTP\/2/m, "stderr");
  assert.match(df.stdout, /tls=insecure \(plaintext\)/);
  const r = await readResultsFile(out);
  assert.equal(r.meta.tls_mode, "insecure");
  assert.equal(r.meta.tls, null);
  assert.equal(r.lines.length, 50);
  assert.ok(r.lines.every((l) => l.ok === true));
});

Deno.test("df warns loudly at start-up about a private key others can read, and still starts", async () => {
  // Keys the certs task writes are 0600 (certs/generate_test.ts checks the modes).
  const c = await testCerts();
  const dir = await Deno.makeTempDir({ prefix: "df-key-mode-" });
  const key = join(dir, "server.key");
  await Deno.copyFile(c.serverKey, key);
  await Deno.chmod(key, 0o644);
  const df = await startDfProcess({ TLS_KEY: key });
  try {
    await df.waitFor(
      new RegExp(
        `^df: WARNING: private key ${
          re(key)
        } is readable by others \\(mode 0644\\); run: chmod 600 ${re(key)}$`,
        "m",
      ),
      "stderr",
    );
    const client = await scoreClient(df.port);
    assert.equal((await client.call()).ok, true);
    client.close();
  } finally {
    await df.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
