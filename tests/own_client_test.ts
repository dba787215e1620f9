/**
 * Steady's own gRPC client (`smft/h2_channel.ts`) against a server that breaks the protocol in
 * every way a unary call can be broken, and drops, hangs up or goes away: each call's line says
 * what the server did (in grpc-js's status and words where grpc-js had them), never OK for a
 * broken answer, and the call after a lost connection goes through on a new one. A real smft
 * process, a real TLS server.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { join } from "node:path";
import { assertRanToEnd, readResultsFile, startSmft, tempResults, waitAtMost } from "./helpers.ts";
import { frame, type RawAnswer, startRawServer } from "./raw_grpc_server.ts";

const OK = { "grpc-status": "0" };
const message = frame(new Uint8Array([0x0d, 0, 0, 0, 0x3f])); // score: 0.5

/** Each answer and the code and error its line must carry. */
const CASES: { name: string; answer: RawAnswer; code?: string; error?: RegExp }[] = [
  { name: "a good answer", answer: { body: message, trailers: OK } },
  // Early in the list: the connection dropped below must come after this call's deadline.
  {
    name: "no answer before the deadline",
    answer: { hang: true },
    code: "DEADLINE_EXCEEDED",
    error: /Deadline exceeded/,
  },
  {
    name: "status with a percent-encoded message",
    answer: { trailers: { "grpc-status": "5", "grpc-message": "no%20such%20entity" } },
    code: "NOT_FOUND",
    error: /^no such entity$/,
  },
  {
    name: "HTTP 503 without a gRPC status",
    answer: { headers: { ":status": 503, "content-type": "text/plain" } },
    code: "UNAVAILABLE",
    error: /HTTP status code 503/,
  },
  {
    name: "HTTP 200 that is not gRPC",
    answer: { headers: { "content-type": "text/html" }, body: new TextEncoder().encode("<html>") },
    code: "UNKNOWN",
    error: /content-type "text\/html"/,
  },
  {
    name: "trailers without a grpc-status",
    answer: { body: message, trailers: { "x-other": "1" } },
    code: "UNKNOWN",
    error: /Received HTTP status code 200/,
  },
  {
    name: "a status in the first headers, none at the end",
    answer: { headers: OK, body: message },
    code: "INTERNAL",
    error: /Call ended without gRPC status/,
  },
  {
    name: "two messages to a unary call",
    answer: { body: new Uint8Array([...message, ...message]), trailers: OK },
    code: "INTERNAL",
    error: /2 response messages/,
  },
  {
    name: "a compressed message nobody asked for",
    answer: { body: frame(new Uint8Array(3), { compressed: true }), trailers: OK },
    code: "INTERNAL",
    error: /compressed/,
  },
  {
    name: "a message above the receive limit",
    answer: { body: frame(new Uint8Array(0), { length: 5 * 1024 * 1024 }), trailers: OK },
    code: "RESOURCE_EXHAUSTED",
    error: /larger than max \(5242880 vs\. 4194304\)/,
  },
  {
    name: "a message cut short",
    answer: { body: frame(new Uint8Array(3), { length: 10 }), trailers: OK },
    code: "INTERNAL",
    error: /ended inside a message/,
  },
  {
    name: "trailers-only OK without a message",
    answer: { headers: OK },
    code: "INTERNAL",
    error: /no response message/,
  },
  {
    name: "the stream refused",
    answer: { reset: http2.constants.NGHTTP2_REFUSED_STREAM },
    code: "UNAVAILABLE",
    error: /refused/,
  },
  {
    name: "a stream ended without a status",
    answer: { body: message },
    code: "INTERNAL",
    error: /Call ended without gRPC status/,
  },
  {
    name: "the connection dropped under the call",
    answer: { drop: true },
    code: "UNAVAILABLE",
    error: /Connection dropped/,
  },
  { name: "the next call, on a new connection", answer: { body: message, trailers: OK } },
  { name: "an answer, then GOAWAY", answer: { body: message, trailers: OK, goaway: true } },
  { name: "the next call, on a new connection", answer: { body: message, trailers: OK } },
];

Deno.test("steady's own client reads every broken answer as the status it is, never OK", async () => {
  const server = await startRawServer((i) => CASES[i % CASES.length].answer);
  const dir = await tempResults();
  try {
    const out = join(dir, "raw.txt");
    const n = CASES.length * 2;
    // Calls in order, far apart, so line i is case i % CASES.length.
    const smft = await startSmft(
      ["steady", "--rps", String(n), "--duration", "1", "--warmup", "0"]
        .concat(["--deadline-ms", "300", "--out", out, "--quiet"]),
      { DF_PORT: String(server.port) },
    );
    const status = await waitAtMost(smft, 30_000);
    assertRanToEnd(status.code, smft.stdout, smft.stderr);
    const r = await readResultsFile(out);
    assert.equal(r.lines.length, n);
    assert.equal(server.calls(), n);
    const lines = [...r.lines].sort((a, b) => Number(a.t_ms) - Number(b.t_ms));
    lines.forEach((l, i) => {
      const c = CASES[i % CASES.length];
      const what = `${c.name}: ${JSON.stringify(l)}`;
      if (!c.code) return assert.equal(l.ok, true, what);
      assert.equal(l.ok, false, what);
      assert.equal(l.code, c.code, what);
      assert.match(String(l.error), c.error!, what);
    });
    assert.equal(r.end?.ok, 2 * CASES.filter((c) => !c.code).length);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
