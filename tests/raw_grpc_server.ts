/**
 * A server that breaks the gRPC wire protocol on purpose: a `node:http2` server over TLS 1.3 with
 * the test certificates (client certificate required) that answers call number `i` exactly as
 * `answer(i)` says: any HTTP status and headers, any body bytes (framed or not), any trailers, or
 * a reset. It plays the servers smft's own client must read correctly or refuse in words.
 *
 * @module
 */
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import { testCerts } from "./helpers.ts";

/** What the server does with one call. */
export interface RawAnswer {
  /** Response headers (default `:status` 200, `content-type` application/grpc). */
  headers?: http2.OutgoingHttpHeaders;
  /** Body bytes, sent as they are. */
  body?: Uint8Array;
  /** Trailers; none means the headers end the stream (trailers-only when they hold the status). */
  trailers?: Record<string, string>;
  /** Reset the stream with this HTTP/2 error code instead of answering. */
  reset?: number;
  /** Instead of answering: drop the whole connection, or never answer. */
  drop?: boolean;
  hang?: boolean;
  /** After answering, send GOAWAY: the connection takes no new calls. */
  goaway?: boolean;
}

/** A gRPC frame (pure): flag, 4-byte big-endian length, then `length` of `payload`'s bytes. */
export function frame(payload: Uint8Array, o: { compressed?: boolean; length?: number } = {}) {
  const out = new Uint8Array(5 + payload.length);
  out[0] = o.compressed ? 1 : 0;
  new DataView(out.buffer).setUint32(1, o.length ?? payload.length);
  out.set(payload, 5);
  return out;
}

/** A raw server on loopback, and how many calls it answered. */
export interface RawServer {
  port: number;
  calls: () => number;
  close: () => Promise<void>;
}

/** Starts a {@link RawServer} answering call `i` as `answer(i)` says. */
export async function startRawServer(answer: (i: number) => RawAnswer): Promise<RawServer> {
  const c = await testCerts();
  let calls = 0;
  const server = http2.createSecureServer({
    ca: readFileSync(c.caCrt),
    cert: readFileSync(c.serverCrt),
    key: readFileSync(c.serverKey),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
    ALPNProtocols: ["h2"],
  });
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    const a = answer(calls++);
    stream.on("error", () => {});
    stream.on("data", () => {});
    stream.on("end", () => {
      if (a.hang) return;
      if (a.drop) return stream.session?.destroy();
      if (a.reset !== undefined) return stream.close(a.reset);
      if (a.goaway) stream.on("close", () => stream.session?.goaway());
      const headers = { ":status": 200, "content-type": "application/grpc", ...a.headers };
      stream.respond(headers, {
        waitForTrailers: a.trailers !== undefined,
        endStream: a.trailers === undefined && a.body === undefined,
      });
      if (a.trailers) stream.on("wantTrailers", () => stream.sendTrailers(a.trailers!));
      if (a.trailers !== undefined || a.body !== undefined) stream.end(a.body ?? new Uint8Array());
    });
  });
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        setTimeout(resolve, 2000);
      }),
  };
}
