/**
 * A misbehaving HTTP/2 client for df's abuse tests, written frame by frame over `node:tls`
 * (TLS 1.3, ALPN h2, the test client certificate) so that it can break the rules a real HTTP/2
 * library keeps: it opens streams past the server's `MAX_CONCURRENT_STREAMS`, never finishes
 * them, or never reads the answers.
 *
 * Run as a program (so that its flood does not share an event loop with the legitimate client):
 *
 *   deno run -A tests/abusive_client.ts --port 50051 --mode open --streams 20000 --seconds 4 \
 *     --ca ca.crt --cert client.crt --key client.key
 *
 * Modes: `open` (HEADERS without END_STREAM, never finished), `unread` (full requests, answers
 * never read), `read` (full requests, answers read). `--conns 2` floods over two connections,
 * `--ping` adds a PING per batch, `--zero-window` advertises a stream window of 0 that it never
 * opens (the server can send no answer), `--pings N` sends N PINGs at once after the streams. Every run is bounded by `--streams` per connection and by
 * `--seconds`; it prints one JSON line of what it saw and exits.
 *
 * @module
 */
import * as tls from "node:tls";
import type { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** What to do on each connection. */
export type AbuseMode = "open" | "unread" | "read";

/** What one connection saw. */
export interface AbuseReport {
  /** Streams whose HEADERS were written. */
  sent: number;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS, if it sent one. */
  maxConcurrentStreams?: number;
  /** RST_STREAM frames received, by error code name. */
  resets: Record<string, number>;
  /** Streams the server answered to the end (HEADERS with END_STREAM). */
  answered: number;
  /** GOAWAY error code name, if the server sent one. */
  goaway?: string;
  /** The connection was closed by the server before the run ended. */
  closedByServer: boolean;
  /** TLS handshake completed. */
  secure: boolean;
  error?: string;
}

const CODES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];
const codeName = (c: number) => CODES[c] ?? `0x${c.toString(16)}`;

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(9 + payload.length);
  const v = new DataView(f.buffer);
  v.setUint32(0, payload.length << 8);
  f[3] = type;
  f[4] = flags;
  v.setUint32(5, stream & 0x7fffffff);
  f.set(payload, 9);
  return f;
}

/** HPACK literal header fields without indexing, no Huffman: one fixed block for every stream. */
function headerBlock(): Uint8Array {
  const enc = new TextEncoder();
  const out: number[] = [];
  const str = (s: string) => {
    const b = enc.encode(s);
    out.push(b.length, ...b);
  };
  for (
    const [k, v] of [
      [":method", "POST"],
      [":scheme", "https"],
      [":path", "/score.ScoreService/GetScore"],
      [":authority", "localhost"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ]
  ) {
    out.push(0x00);
    str(k);
    str(v);
  }
  return new Uint8Array(out);
}

/** A gRPC message carrying `JsonVector { json: "[0.1,0.2]" }`. */
function grpcMessage(): Uint8Array {
  const json = new TextEncoder().encode("[0.1,0.2]");
  const pb = new Uint8Array([0x0a, json.length, ...json]);
  const m = new Uint8Array(5 + pb.length);
  new DataView(m.buffer).setUint32(1, pb.length);
  m.set(pb, 5);
  return m;
}

const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const HEADERS = 0x1, DATA = 0x0, RST = 0x3, SETTINGS = 0x4, PING = 0x6, GOAWAY = 0x7;
const END_STREAM = 0x1, END_HEADERS = 0x4, ACK = 0x1;

/** Options of one abusive connection. */
export interface AbuseOptions {
  port: number;
  mode: AbuseMode;
  /** Streams to open at most. */
  streams: number;
  /** Stop after this long at most. */
  seconds: number;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  ping?: boolean;
  /** Streams per write. @default 200 */
  batch?: number;
  /** Advertise a stream window of 0 and never open it: the server can send no DATA. */
  zeroWindow?: boolean;
  /** PING frames sent at once after the streams (a PING flood). */
  pings?: number;
}

/** Floods one connection as `o.mode` says; resolves with what it saw once done. */
export function abuse(o: AbuseOptions): Promise<AbuseReport> {
  const r: AbuseReport = { sent: 0, resets: {}, answered: 0, closedByServer: false, secure: false };
  const block = headerBlock();
  const message = grpcMessage();
  const batch = o.batch ?? 200;
  const deadline = performance.now() + o.seconds * 1000;
  let done = false;
  let pending = new Uint8Array(0);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: o.port,
      servername: "localhost",
      ALPNProtocols: ["h2"],
      minVersion: "TLSv1.3" as const,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
    });
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(finish, o.seconds * 1000 + 2000);
    socket.on("error", (e: Error) => r.error ??= e.message);
    socket.on("close", () => {
      if (!done) r.closedByServer = true;
      finish();
    });
    socket.on("data", (d: Uint8Array) => {
      const buf = new Uint8Array(pending.length + d.length);
      buf.set(pending);
      buf.set(d, pending.length);
      let at = 0;
      while (buf.length - at >= 9) {
        const len = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
        if (buf.length - at < 9 + len) break;
        const type = buf[at + 3], flags = buf[at + 4];
        const p = buf.subarray(at + 9, at + 9 + len);
        const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
        if (type === SETTINGS && !(flags & ACK)) {
          for (let i = 0; i + 6 <= len; i += 6) {
            if (v.getUint16(i) === 0x3) r.maxConcurrentStreams = v.getUint32(i + 2);
          }
          if (o.mode !== "unread") socket.write(frame(SETTINGS, ACK, 0, new Uint8Array(0)));
        } else if (type === RST && len >= 4) {
          const name = codeName(v.getUint32(0));
          r.resets[name] = (r.resets[name] ?? 0) + 1;
        } else if (type === GOAWAY && len >= 8) {
          r.goaway = codeName(v.getUint32(4));
        } else if (type === HEADERS && (flags & END_STREAM)) {
          r.answered++;
        }
        at += 9 + len;
      }
      pending = buf.slice(at);
    });
    socket.once("secureConnect", async () => {
      r.secure = true;
      // Windows as large as HTTP/2 allows: flow control never holds an answer back (or, with
      // zeroWindow, a stream window of 0 never opened: no answer can be sent).
      const settings = new Uint8Array(6);
      new DataView(settings.buffer).setUint16(0, 0x4);
      new DataView(settings.buffer).setUint32(2, o.zeroWindow ? 0 : 0x7fffffff);
      const wu = new Uint8Array(4);
      new DataView(wu.buffer).setUint32(0, 0x7fffffff - 65535);
      socket.write(PREFACE);
      socket.write(frame(SETTINGS, 0, 0, settings));
      if (!o.zeroWindow) socket.write(frame(0x8, 0, 0, wu));
      if (o.mode === "unread") {
        // Let the server's SETTINGS in (to learn its limit), then never read again.
        await new Promise((res) => setTimeout(res, 100));
        socket.pause();
      }
      let id = 1;
      while (!done && r.sent < o.streams && performance.now() < deadline) {
        const n = Math.min(batch, o.streams - r.sent);
        const parts: Uint8Array[] = [];
        for (let i = 0; i < n; i++, id += 2) {
          if (o.mode === "open") {
            parts.push(frame(HEADERS, END_HEADERS, id, block));
          } else {
            parts.push(frame(HEADERS, END_HEADERS, id, block));
            parts.push(frame(DATA, END_STREAM, id, message));
          }
        }
        if (o.ping) parts.push(frame(PING, 0, 0, new Uint8Array(8)));
        const size = parts.reduce((a, p) => a + p.length, 0);
        const out = new Uint8Array(size);
        let off = 0;
        for (const p of parts) {
          out.set(p, off);
          off += p.length;
        }
        r.sent += n;
        if (!socket.write(out)) {
          // The server stopped reading: wait for it (bounded by the run's time).
          await new Promise<void>((res) => {
            const t = setTimeout(res, Math.max(0, deadline - performance.now()));
            socket.once("drain", () => {
              clearTimeout(t);
              res();
            });
          });
        } else {
          await new Promise((res) => setImmediate(res));
        }
      }
      if (!done && o.pings) {
        const ping = frame(PING, 0, 0, new Uint8Array(8));
        const flood = new Uint8Array(ping.length * o.pings);
        for (let i = 0; i < o.pings; i++) flood.set(ping, i * ping.length);
        socket.write(flood);
      }
      // Hold the connection (and every unfinished stream) until the time is up.
      const left = deadline - performance.now();
      if (!done && left > 0) await new Promise((res) => setTimeout(res, left));
      finish();
    });
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      mode: { type: "string", default: "open" },
      streams: { type: "string", default: "10000" },
      seconds: { type: "string", default: "5" },
      conns: { type: "string", default: "1" },
      ping: { type: "boolean", default: false },
      "zero-window": { type: "boolean", default: false },
      pings: { type: "string", default: "0" },
      ca: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
    },
  });
  const common = {
    port: Number(values.port),
    mode: values.mode as AbuseMode,
    streams: Math.min(Number(values.streams), 1_000_000),
    seconds: Math.min(Number(values.seconds), 120),
    ping: values.ping,
    zeroWindow: values["zero-window"],
    pings: Math.min(Number(values.pings), 1_000_000),
    ca: readFileSync(values.ca!),
    cert: readFileSync(values.cert!),
    key: readFileSync(values.key!),
  };
  const reports = await Promise.all(
    Array.from({ length: Math.min(Number(values.conns), 16) }, () => abuse(common)),
  );
  console.log(JSON.stringify(reports));
  Deno.exit(0);
}
