/**
 * The floor of this stack on the server side: the least a grpc-js GetScore server on Deno can
 * be with df's contract (TLS 1.3 only, client certificate required, the request's json parsed,
 * each call held --delay-ms from receipt with `setTimeout`, trailer df-handling-us), kept apart
 * from df; `deno task bench` measures df against it. SIGTERM: prints {"calls":N} and exits.
 *
 *   deno run -A tools/bench/floor/server.ts --port 50072 --delay-ms 5 \
 *     --ca certs/ca.crt --cert certs/server.crt --key certs/server.key
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { getHeapStatistics } from "node:v8";

const { values: a } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "50051" },
    "delay-ms": { type: "string", default: "5" },
    ca: { type: "string", default: "certs/ca.crt" },
    cert: { type: "string", default: "certs/server.crt" },
    key: { type: "string", default: "certs/server.key" },
  },
});
const delay = Number(a["delay-ms"]);
const hold = (due: number, cb: () => void) => setTimeout(cb, Math.max(0, due - performance.now()));

/** TLS 1.3 only, client certificate required (grpc-js's createSsl has no version option). */
class Tls13 extends grpc.ServerCredentials {
  constructor() {
    super({ minVersion: "TLSv1.3", requestCert: true, rejectUnauthorized: true }, {
      ca: readFileSync(a.ca!),
      cert: readFileSync(a.cert!),
      key: readFileSync(a.key!),
    });
  }
  _equals(o: grpc.ServerCredentials): boolean {
    return o === this;
  }
}

// score.JsonVector{json = 1}: only field 1 is read. ScoreResponse{score = 1}: fixed64 double.
function decode(b: Buffer): string {
  let i = 0, s = "";
  while (i < b.length) {
    const key = b[i++];
    let len = 0;
    for (let sh = 0;; sh += 7) {
      const x = b[i++];
      len |= (x & 0x7f) << sh;
      if (x < 0x80) break;
    }
    if (key === 0x0a) s = b.toString("utf8", i, i + len);
    i += len;
  }
  return s;
}
function encode(score: number): Buffer {
  const out = Buffer.alloc(9);
  out[0] = 0x09;
  out.writeDoubleLE(score, 1);
  return out;
}

let calls = 0;
let alloc0 = 0; // allocation from the first call on
const server = new grpc.Server();
server.addService({
  GetScore: {
    path: "/score.ScoreService/GetScore",
    requestStream: false,
    responseStream: false,
    requestDeserialize: decode,
    requestSerialize: (s: string) => Buffer.from(s),
    responseSerialize: encode,
    responseDeserialize: (b: Buffer) => b.readDoubleLE(1),
  },
}, {
  GetScore(call: grpc.ServerUnaryCall<string, number>, cb: grpc.sendUnaryData<number>) {
    const received = performance.now();
    if (alloc0 === 0) alloc0 = getHeapStatistics().total_allocated_bytes;
    try {
      JSON.parse(call.request);
    } catch {
      return cb({ code: grpc.status.INVALID_ARGUMENT, details: "field json is not valid JSON" });
    }
    hold(received + delay, () => {
      const md = new grpc.Metadata();
      md.set("df-handling-us", String(Math.round((performance.now() - received) * 1000)));
      calls++;
      cb(null, Math.random(), md);
    });
  },
});
const port = await new Promise<number>((res, rej) =>
  server.bindAsync(`${a.host}:${a.port}`, new Tls13(), (e, p) => e ? rej(e) : res(p))
);
console.log(`floor server listening on ${a.host}:${port}`);
Deno.addSignalListener("SIGTERM", () => {
  const allocKb = (getHeapStatistics().total_allocated_bytes - alloc0) / 1024 / Math.max(1, calls);
  console.log(JSON.stringify({ calls, alloc_kb_per_call: +allocKb.toFixed(2) }));
  server.forceShutdown();
  Deno.exit(0);
});
