/**
 * `deno task demo`: the whole product on built-in defaults, on one machine. Makes certificates
 * if missing, starts df on loopback, makes one mTLS call, prints the answer and stops df.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { generateCerts } from "../certs/generate.ts";
import { clientCredentials, loadTls } from "../certs/tls.ts";
import { scoreService } from "../proto/score.ts";
import { HANDLING_METADATA_KEY, startDf } from "../df/server.ts";

const certs = await generateCerts({ out: "certs" });
console.log(
  certs.written ? "demo: made test certificates in certs/" : "demo: using certificates in certs/",
);
const f = certs.files;

const df = await startDf({
  host: "127.0.0.1",
  port: 0,
  delayMs: 5,
  tlsMode: "mtls",
  tls: loadTls("mtls", { ca: f.caCrt, cert: f.serverCrt, key: f.serverKey }, "server"),
});
console.log(`demo: df listening on 127.0.0.1:${df.port} (TLS 1.3, mutual TLS, DELAY_MS=5)`);

const material = loadTls("mtls", { ca: f.caCrt, cert: f.clientCrt, key: f.clientKey }, "client");
const Client = grpc.makeGenericClientConstructor(scoreService, "ScoreService");
const client = new Client(`localhost:${df.port}`, clientCredentials("mtls", material));
const started = performance.now();
const answer = await new Promise<{ score: number; dfUs: string }>((resolve, reject) => {
  let dfUs = "?";
  const call = (client as unknown as {
    GetScore: grpc.requestCallback<unknown> extends never ? never : (
      req: unknown,
      cb: (e: grpc.ServiceError | null, v: { score: number }) => void,
    ) => grpc.ClientUnaryCall;
  }).GetScore({ json: JSON.stringify({ features: [0.12, 0.5, 3.4] }) }, (e, v) => {
    if (e) reject(e);
    else queueMicrotask(() => resolve({ score: v.score, dfUs }));
  });
  call.on(
    "status",
    (s: grpc.StatusObject) => dfUs = String(s.metadata.get(HANDLING_METADATA_KEY)[0]),
  );
});
const ms = performance.now() - started;
console.log(
  `demo: GetScore -> score=${answer.score.toFixed(6)} in ${
    ms.toFixed(2)
  } ms (first call, includes the TLS handshake; df held it ${answer.dfUs} µs)`,
);
client.close();
await df.close(1000);
console.log("demo: df stopped");
