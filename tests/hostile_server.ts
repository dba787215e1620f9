/**
 * A hostile gRPC server for smft's tests: a real grpc-js server over TLS 1.3 + mTLS with the test
 * certificates, serving `score.ScoreService/GetScore` as a server-streaming method so that it can
 * do what a unary server never should: end a call OK without a message, send a `df-handling-us`
 * far above the time the call took, or a status message of any length and content. smft must
 * record what it did, never believe it.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import { loadTls, serverCredentials } from "../certs/tls.ts";
import { encodeScoreResponse, GET_SCORE_PATH, passBytes } from "../proto/score.ts";
import { testCerts } from "./helpers.ts";

/** What the server does with call number `i` (0-based). */
export interface HostileAnswer {
  /** Send the one response message (default true). */
  message?: boolean;
  /** Trailers to send, verbatim (e.g. `df-handling-us`). */
  trailers?: Record<string, string>;
  /** End with this status instead of OK, and this message. */
  error?: { code: grpc.status; details: string };
}

/** A hostile server listening on loopback. */
export interface HostileServer {
  port: number;
  calls: () => number;
  close: () => Promise<void>;
}

/** Starts a {@link HostileServer} answering call `i` as `answer(i)` says. */
export async function startHostileServer(
  answer: (i: number) => HostileAnswer,
): Promise<HostileServer> {
  const c = await testCerts();
  const material = loadTls("mtls", { ca: c.caCrt, cert: c.serverCrt, key: c.serverKey }, "server");
  const server = new grpc.Server();
  let calls = 0;
  server.register<Buffer, Buffer>(
    GET_SCORE_PATH,
    (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const a = answer(calls++);
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(a.trailers ?? {})) md.set(k, v);
      if (a.error) {
        call.emit("error", { code: a.error.code, details: a.error.details, metadata: md });
        return;
      }
      if (a.message !== false) call.write(encodeScoreResponse({ score: 0.5 }));
      call.end(md);
    },
    passBytes,
    passBytes,
    "serverStream",
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      serverCredentials("mtls", material),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  return {
    port,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
      }),
  };
}
