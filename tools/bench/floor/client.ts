/**
 * The floor of this stack on the client side: the least a unary gRPC load loop on Deno can be,
 * kept apart from smft and never used by it; `deno task bench` measures smft against it.
 * One connection, open loop (request i intended at t0 + i/rate, catch-up, never skip), a
 * pre-encoded request, mTLS over TLS 1.3, `setTimeout` pacing (~1 ms late on Deno: the floor is
 * cheap partly because it is imprecise). `--client h2` (the default) is bare `node:http2` (a
 * request, one framed message, the status from the trailers), what smft's own client is built
 * on; `--client grpc-js` is grpc-js's `makeUnaryRequest`, what smft called before. `--pacing
 * wake` paces it with smft's precise pacer instead (`smft/shared/pacer.ts`), so the bench can
 * show what precise sends cost by themselves. Prints one JSON line.
 *
 *   deno run -A tools/bench/floor/client.ts --port 50071 --rate 1000 --duration 10 --warmup 3 \
 *     --ca certs/ca.crt --cert certs/client.crt --key certs/client.key
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import http2 from "node:http2";
import * as tls from "node:tls";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { getHeapStatistics } from "node:v8";
import { Pacer } from "../../../smft/shared/pacer.ts";

const { values: a } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "50051" },
    rate: { type: "string", default: "1000" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    ca: { type: "string", default: "certs/ca.crt" },
    cert: { type: "string", default: "certs/client.crt" },
    key: { type: "string", default: "certs/client.key" },
    // `wake`: smft's precise pacer instead of `setTimeout`, to show what the precision costs.
    pacing: { type: "string", default: "timeout" },
    client: { type: "string", default: "h2" },
  },
});
const rate = Number(a.rate), warmupS = Number(a.warmup), durS = Number(a.duration);
const total = Math.round((warmupS + durS) * rate), first = Math.round(warmupS * rate);

const pacer = a.pacing === "wake" ? new Pacer("wake") : undefined;
await pacer?.ready();
const at = (due: number, cb: () => void) =>
  pacer ? pacer.at(due, cb) : setTimeout(cb, Math.max(0, due - performance.now()));

// score.JsonVector{json}: field 1, wire type 2, varint length, bytes.
const features = Array.from({ length: 64 }, (_, i) => +Math.abs(Math.sin(i + 1) * 10).toFixed(6));
const json = Buffer.from(JSON.stringify({
  model: "score-v1",
  entity_id: "acct-000042",
  features,
  context: { country: "DE", channel: "web", hour: 14 },
}));
const lenBytes: number[] = [];
for (let n = json.length;; n >>= 7) {
  if (n < 0x80) {
    lenBytes.push(n);
    break;
  }
  lenBytes.push((n & 0x7f) | 0x80);
}
const request = Buffer.concat([Buffer.from([0x0a, ...lenBytes]), json]);

const material = {
  minVersion: "TLSv1.3" as const,
  ca: readFileSync(a.ca!),
  cert: readFileSync(a.cert!),
  key: readFileSync(a.key!),
};

/** One unary call; `done(ok)` when its status arrived. */
type Call = (done: (ok: boolean) => void) => void;

async function grpcJs(): Promise<{ call: Call; close: () => void }> {
  const creds = grpc.credentials.createFromSecureContext(tls.createSecureContext(material));
  const client = new grpc.Client(`${a.host}:${a.port}`, creds, {
    "grpc.ssl_target_name_override": "localhost",
  });
  await new Promise<void>((res, rej) =>
    client.waitForReady(Date.now() + 5000, (e) => e ? rej(e) : res())
  );
  const id = (b: Buffer) => b;
  return {
    call: (done) =>
      client.makeUnaryRequest("/score.ScoreService/GetScore", id, id, request, (e) => done(!e)),
    close: () => client.close(),
  };
}

async function bareH2(): Promise<{ call: Call; close: () => void }> {
  const session = http2.connect(`https://${a.host}:${a.port}`, {
    ...material,
    servername: "localhost",
    ALPNProtocols: ["h2"],
  });
  await new Promise<void>((res, rej) => {
    session.once("remoteSettings", () => res());
    session.once("error", rej);
  });
  const headers = {
    ":method": "POST",
    ":path": "/score.ScoreService/GetScore",
    ":authority": "localhost",
    "content-type": "application/grpc",
    te: "trailers",
  };
  const frame = Buffer.alloc(5 + request.length);
  frame.writeUInt32BE(request.length, 1);
  request.copy(frame, 5);
  return {
    call: (done) => {
      const s = session.request(headers, { endStream: false });
      let status: unknown;
      s.on("trailers", (t) => status = t["grpc-status"]);
      s.on("data", () => {});
      s.on("close", () => done(status === "0"));
      s.end(frame);
    },
    close: () => session.close(),
  };
}

const client = a.client === "grpc-js" ? await grpcJs() : await bareH2();

const lag = new Float64Array(total - first), lat = new Float64Array(total - first);
let sent = 0, done = 0, ok = 0;
const finished = Promise.withResolvers<void>();
const t0 = performance.now() + 20, step = 1000 / rate;

// Allocation over the measured calls (from the first one issued after warm-up).
let alloc0 = 0;
function launch(i: number, now: number) {
  const intended = t0 + i * step;
  if (i === first) alloc0 = getHeapStatistics().total_allocated_bytes;
  if (i >= first) lag[i - first] = now - intended;
  client.call((good) => {
    if (i >= first) lat[i - first] = performance.now() - intended;
    if (good) ok++;
    if (++done === total) finished.resolve();
  });
}

function tick() {
  const now = performance.now();
  while (sent < total && t0 + sent * step <= now) launch(sent++, now);
  if (sent < total) at(t0 + sent * step, tick);
}
at(t0, tick);
await finished.promise;
const allocKb = (getHeapStatistics().total_allocated_bytes - alloc0) / 1024 / (total - first);
client.close();
pacer?.close();

const pct = (v: Float64Array, p: number) => {
  const s = v.slice().sort();
  return +s[Math.max(0, Math.ceil(p / 100 * s.length) - 1)].toFixed(3);
};
console.log(JSON.stringify({
  count: total - first,
  ok,
  lag_p50_ms: pct(lag, 50),
  lag_p99_ms: pct(lag, 99),
  p50_ms: pct(lat, 50),
  p99_ms: pct(lat, 99),
  alloc_kb_per_call: +allocKb.toFixed(2),
}));
