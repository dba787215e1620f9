import assert from "node:assert/strict";
import http2 from "node:http2";
import { grpcTimeout, unaryRequest } from "./h2_channel.ts";
import { statusOfHeaders, statusOfHttp, statusOfReset } from "./grpc_status.ts";

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

Deno.test("an HTTP answer that is not gRPC maps as the gRPC spec says", () => {
  assert.equal(
    statusOfHttp(h({ ":status": 200, "content-type": "application/grpc+proto" })),
    undefined,
  );
  assert.equal(statusOfHttp(h({ ":status": 503 }))?.code, 14);
  assert.equal(statusOfHttp(h({ ":status": 404 }))?.code, 12);
  assert.equal(statusOfHttp(h({ ":status": 418 }))?.code, 2);
  assert.equal(statusOfHttp(h({ ":status": 500, "grpc-status": "8" }))?.code, 8);
  assert.equal(statusOfHttp(h({ ":status": 200, "content-type": "text/html" }))?.code, 2);
});

Deno.test("a stream closed without a status: the reset says which, a lost connection UNAVAILABLE", () => {
  const c = http2.constants;
  assert.equal(statusOfReset(c.NGHTTP2_REFUSED_STREAM, { dropped: false }).code, 14);
  assert.equal(statusOfReset(c.NGHTTP2_CANCEL, { dropped: false }).code, 1);
  assert.equal(statusOfReset(c.NGHTTP2_CANCEL, { dropped: true }).code, 14);
  assert.equal(statusOfReset(c.NGHTTP2_ENHANCE_YOUR_CALM, { dropped: false }).code, 8);
  assert.equal(statusOfReset(c.NGHTTP2_NO_ERROR, { dropped: false }).code, 13);
  assert.match(statusOfReset(c.NGHTTP2_PROTOCOL_ERROR, { dropped: false }).details, /code 1/);
});
