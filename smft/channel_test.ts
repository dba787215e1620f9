import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { createCa, issueCert } from "../certs/generate.ts";
import {
  connectFailure,
  isCertificateVerifyError,
  refusedAfterHandshake,
  serverCertificateProblems,
  targetString,
} from "./channel.ts";
import { failedPhase, lookupBefore } from "./cold_attempt.ts";
import { type ConnectionTrace, onThisHost } from "./tap.ts";

Deno.test("targetString() brackets an IPv6 literal and nothing else", () => {
  const cases: [string, string][] = [
    ["localhost", "localhost:50051"],
    ["127.0.0.1", "127.0.0.1:50051"],
    ["::1", "[::1]:50051"],
    ["[::1]", "[::1]:50051"],
  ];
  for (const [host, want] of cases) assert.equal(targetString({ host, port: 50051 }), want);
});

Deno.test("lookupBefore() counts lookup time before the connect once, and none after it", () => {
  assert.equal(lookupBefore(undefined, 10), 0);
  assert.equal(lookupBefore([{ start: 1, end: 3 }], 10), 2);
  // Overlapping lookups (IPv4 and IPv6 at once) count once; one still running ends at `until`.
  assert.equal(lookupBefore([{ start: 1, end: 3 }, { start: 2, end: 4 }], 10), 3);
  assert.equal(lookupBefore([{ start: 8 }], 10), 2);
  // A re-resolution after the connect began is not taken from start-up.
  assert.equal(lookupBefore([{ start: 1, end: 2 }, { start: 12, end: 15 }], 10), 1);
  assert.equal(lookupBefore([{ start: 9, end: 12 }], 10), 1);
});

Deno.test("failedPhase() names the first phase an attempt did not complete", () => {
  const cases: [ConnectionTrace, boolean, string][] = [
    [{}, false, "start"],
    [{ lookups: [{ start: 1 }] }, false, "dns"],
    [{ lookups: [{ start: 1, end: 2, failed: true }] }, false, "dns"],
    [{ lookups: [{ start: 1, end: 2 }] }, false, "start"],
    [{ tcpStart: 1 }, false, "tcp"],
    [{ tcpStart: 1, tcpDone: 2 }, false, "tls"],
    [{ tcpStart: 1, tcpDone: 2, tlsDone: 3 }, false, "h2"],
    [{ tcpStart: 1, tcpDone: 2, tlsDone: 3, h2Done: 4 }, false, "connect"],
    [{ tcpStart: 1, tcpDone: 2, tlsDone: 3, h2Done: 4 }, true, "rpc"],
  ];
  for (const [trace, ready, want] of cases) {
    assert.equal(failedPhase(trace, ready), want, JSON.stringify(trace));
  }
});

Deno.test("connectFailure() blames the handshake only while it was under way", () => {
  const cases: [string, ConnectionTrace | undefined, RegExp][] = [
    ["Failed to connect before the deadline", undefined, /^no connection before the deadline$/],
    ["x", { tlsError: "unknown ca", tcpDone: 1 }, /^TLS handshake failed: unknown ca$/],
    // After the handshake, before SETTINGS: df refused the client certificate (TLS 1.3).
    ["x", { tlsDone: 2, tlsError: "socket hang up" }, /client certificate refused\? \(socket/],
    // A socket error after SETTINGS is not a handshake failure.
    [
      "read ECONNRESET",
      { tlsDone: 2, h2Done: 3, tlsError: "read ECONNRESET" },
      /^read ECONNRESET$/,
    ],
  ];
  for (const [message, trace, want] of cases) {
    assert.match(connectFailure(message, trace), want);
  }
  assert.equal(refusedAfterHandshake({ tlsDone: 1 }), true);
  assert.equal(refusedAfterHandshake({ tlsDone: 1, h2Done: 2 }), false);
  assert.equal(refusedAfterHandshake(undefined), false);
});

Deno.test("isCertificateVerifyError() knows rustls's words for a failed certificate check", () => {
  for (
    const m of [
      "unable to verify the first certificate",
      "unable to get local issuer certificate",
      "self-signed certificate in certificate chain",
    ]
  ) assert.equal(isCertificateVerifyError(m), true, m);
  assert.equal(isCertificateVerifyError("read ECONNRESET"), false);
});

Deno.test("serverCertificateProblems() names each problem of df's certificate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smft-channel-test-" });
  try {
    const ca = await createCa({ out: join(dir, "ca"), cn: "test-ca-a" });
    const other = await createCa({ out: join(dir, "other"), cn: "test-ca-b" });
    const issue = (name: string, o: Partial<Parameters<typeof issueCert>[0]> = {}) =>
      issueCert({
        caCrt: ca.crt,
        caKey: ca.key,
        out: join(dir, name),
        cn: "localhost",
        kind: "server",
        sans: ["DNS:localhost", "IP:127.0.0.1"],
        ...o,
      });
    const read = async (p: { crt: string }) => new X509Certificate(await Deno.readFile(p.crt));
    const cas = [await read(ca)];
    const good = await read(await issue("good"));
    assert.deepEqual(serverCertificateProblems(good, cas, "localhost"), []);
    assert.deepEqual(serverCertificateProblems(good, cas, "127.0.0.1"), []);

    const cases: [X509Certificate, string, RegExp][] = [
      [good, "df.example", /does not name df\.example/],
      [
        await read(
          await issue("expired", {
            notBefore: new Date(Date.now() - 10 * 86_400_000),
            notAfter: new Date(Date.now() - 86_400_000),
          }),
        ),
        "localhost",
        /expired on/,
      ],
      [
        await read(await issue("future", { notBefore: new Date(Date.now() + 86_400_000) })),
        "localhost",
        /not valid before/,
      ],
      [
        await read(await issue("foreign", { caCrt: other.crt, caKey: other.key })),
        "localhost",
        /issued by .*test-ca-b, not by the CA in TLS_CA \(.*test-ca-a\)/,
      ],
    ];
    for (const [cert, name, want] of cases) {
      const problems = serverCertificateProblems(cert, cas, name);
      assert.equal(problems.length, 1, problems.join("; "));
      assert.match(problems[0], want);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectCause() names a refused connect, an unknown name and a plaintext df, and knows they are certain", async () => {
  const { connectCause } = await import("./channel.ts");
  const t = { host: "localhost", port: 41101, tlsMode: "mtls" as const };
  const refused = connectCause({
    tcpStart: 1,
    tcpErrorCode: "ECONNREFUSED",
    tcpError: "connect ECONNREFUSED 127.0.0.1:41101",
    tcpTarget: "127.0.0.1:41101",
  }, t);
  assert.deepEqual(refused, {
    text: "connection refused by 127.0.0.1:41101: df is not running there, or not on port 41101",
    certain: true,
  });
  const dns = connectCause({ dnsError: "getaddrinfo ENOTFOUND nosuch.invalid" }, t);
  assert.equal(dns?.certain, true);
  assert.match(dns!.text, /^cannot resolve localhost: getaddrinfo ENOTFOUND/);
  const plain = connectCause({
    tcpStart: 1,
    tcpDone: 2,
    tlsError: "received corrupt message of type InvalidContentType",
  }, t);
  assert.equal(plain?.certain, true);
  assert.match(plain!.text, /df does not answer in TLS on port 41101/);
  assert.equal(connectCause({ tcpStart: 1 }, t), undefined, "still connecting: nothing to say");
});

Deno.test("onThisHost(): loopback, or the same address on both ends, is this host; another address is not", () => {
  assert.equal(onThisHost("127.0.0.1", "127.0.0.1"), true);
  assert.equal(onThisHost("127.0.1.1", "127.0.0.1"), true);
  assert.equal(onThisHost("::1", "::1"), true);
  assert.equal(onThisHost("::ffff:127.0.0.1", "::ffff:127.0.0.1"), true);
  assert.equal(onThisHost("10.0.0.5", "10.0.0.5"), true);
  assert.equal(onThisHost("10.0.0.5", "10.0.0.7"), false);
  assert.equal(onThisHost("10.0.0.5", undefined), false);
});
