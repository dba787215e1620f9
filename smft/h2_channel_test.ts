import assert from "node:assert/strict";
import http2 from "node:http2";
import { grpcTimeout, unaryRequest } from "./h2_channel.ts";
import { isGrpcResponse, statusOfHeaders, statusOfHttp, statusOfReset } from "./grpc_status.ts";

Deno.test("grpcTimeout() writes at most 8 digits in the finest unit that fits", () => {
  assert.equal(grpcTimeout(1000), "1000000u");
  assert.equal(grpcTimeout(0.5), "500u");
  assert.equal(grpcTimeout(100_000), "100000m");
  assert.equal(grpcTimeout(1e9), "1000000S");
  assert.equal(grpcTimeout(1e15), "99999999S");
});

Deno.test("unaryRequest() frames the payload once and sends metadata as it travels", () => {
  const r = unaryRequest(
    "/a.B/C",
    new Uint8Array([1, 2, 3]),
    [["k", "v"], ["k", "w"], [
      "x-bin",
      "AAE=",
    ]],
    250,
    "h:1",
  );
  assert.deepEqual([...r.frame], [0, 0, 0, 0, 3, 1, 2, 3]);
  assert.equal(r.headers[":path"], "/a.B/C");
  assert.equal(r.headers[":authority"], "h:1");
  assert.equal(r.headers["content-type"], "application/grpc");
  assert.equal(r.headers["grpc-timeout"], "250000u");
  assert.deepEqual(r.headers.k, ["v", "w"]);
  assert.equal(r.headers["x-bin"], "AAE=");
});

Deno.test("a status is read from the trailers, never OK when it is not a code", () => {
  assert.deepEqual(statusOfHeaders({ "grpc-status": "5", "grpc-message": "a%20b" }), {
    code: 5,
    details: "a b",
    handling: undefined,
  });
  assert.equal(statusOfHeaders({ "grpc-message": "x" }), undefined);
  assert.deepEqual(statusOfHeaders({ "grpc-status": "0", "df-handling-us": "12" })?.handling, [
    "12",
  ]);
  for (const raw of ["abc", "0x0", "", "17", " 0"]) {
    const st = statusOfHeaders({ "grpc-status": raw });
    assert.equal(st?.code, 13, raw);
    assert.match(st!.details, /^malformed grpc-status/);
  }
  // A message that does not decode is kept as it came.
  assert.equal(
    statusOfHeaders({ "grpc-status": "2", "grpc-message": "%E0%A4%A" })?.details,
    "%E0%A4%A",
  );
});

/** Response headers as the runtime hands them over (`:status` a number). */
const h = (o: Record<string, unknown>) => o as http2.IncomingHttpHeaders;

Deno.test("an answer without a grpc-status: its HTTP status, as the gRPC spec maps it", () => {
  assert.equal(
    isGrpcResponse(h({ ":status": 200, "content-type": "application/grpc+proto" })),
    true,
  );
  assert.equal(isGrpcResponse(h({ ":status": 503, "content-type": "application/grpc" })), false);
  assert.equal(statusOfHttp(h({ ":status": 503 })).code, 14);
  assert.equal(statusOfHttp(h({ ":status": 404 })).code, 12);
  assert.equal(statusOfHttp(h({ ":status": 418 })).code, 2);
  assert.match(
    statusOfHttp(h({ ":status": 200, "content-type": "text/html" })).details,
    /content-type/,
  );
  assert.match(
    statusOfHttp(h({ ":status": 200, "content-type": "application/grpc" })).details,
    /HTTP status code 200/,
  );
});

Deno.test("a stream closed without a status: the reset says which, a lost connection UNAVAILABLE", () => {
  const c = http2.constants;
  const kept = { dropped: false };
  assert.equal(statusOfReset(c.NGHTTP2_REFUSED_STREAM, kept).code, 14);
  assert.equal(statusOfReset(c.NGHTTP2_CANCEL, kept).code, 1);
  assert.equal(statusOfReset(c.NGHTTP2_CANCEL, { dropped: true }).code, 14);
  assert.equal(statusOfReset(c.NGHTTP2_CANCEL, { dropped: false, goaway: true }).code, 14);
  assert.equal(statusOfReset(c.NGHTTP2_ENHANCE_YOUR_CALM, kept).code, 8);
  assert.match(statusOfReset(c.NGHTTP2_NO_ERROR, kept).details, /Call ended without gRPC status/);
  assert.match(statusOfReset(c.NGHTTP2_INTERNAL_ERROR, kept).details, /Internal server error/);
  assert.match(statusOfReset(c.NGHTTP2_PROTOCOL_ERROR, kept, "x").details, /code 1 \(x\)/);
});
