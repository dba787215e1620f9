/**
 * Steady's own unary gRPC client: one HTTP/2 session (`node:http2`), a request per call, its
 * status read from the trailers. grpc-js costs ~40 % of a call's CPU on this runtime and about
 * half of its tail (issue 26's measurement); the generator's own cost is what a latency tool must
 * keep small, so the hot path is written here, and grpc-js stays for coldconn and reflection.
 *
 * It connects as grpc-js does (name lookup, `net.connect`, `tls.connect` with the run's
 * `SecureContext`, `http2.connect` over that socket), so the tap (`tap.ts`) traces its phases and
 * `connectCause()` explains a failure in the same words. A lost connection is made again on the
 * next call (backoff 100 ms to 1 s, as steady's grpc-js channel was set); calls made while it
 * connects wait for it, calls made while it is failing end `UNAVAILABLE` at once.
 *
 * @module
 */
import dns from "node:dns";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { Buffer } from "node:buffer";
import { clientSecureContext } from "../certs/tls.ts";
import { type Target, targetString } from "./channel.ts";
import { type ConnectionTrace, OWN_STATUS_CHECK, watchContext, withTrace } from "./tap.ts";
import { type CallStatus, statusOfHeaders, statusOfHttp, statusOfReset } from "./grpc_status.ts";
import { NO_MESSAGE } from "./results_format.ts";

export type { CallStatus };

/** The largest response message read, as grpc-js's default: larger ends RESOURCE_EXHAUSTED. */
export const MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 1000;

const UNAVAILABLE = 14;
const INTERNAL = 13;

/** A call's request, built once per run: the same headers and frame for every call. */
export interface UnaryRequest {
  headers: http2.OutgoingHttpHeaders;
  frame: Buffer;
}

/**
 * The request of a unary call to `path` (pure): `payload` framed (5-byte prefix), `metadata`
 * (`-bin` values already base64, as they travel) and a `grpc-timeout` of `deadlineMs`.
 */
export function unaryRequest(
  path: string,
  payload: Uint8Array,
  metadata: [string, string][],
  deadlineMs: number,
  authority: string,
): UnaryRequest {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, 5);
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": path,
    ":authority": authority,
    "content-type": "application/grpc",
    te: "trailers",
    "grpc-timeout": grpcTimeout(deadlineMs),
  };
  for (const [k, v] of metadata) {
    const had = headers[k];
    headers[k] = had === undefined ? v : [...[had].flat().map(String), v];
  }
  return { headers, frame };
}

/** `grpc-timeout` for `ms` (pure): at most 8 digits, in the finest unit that fits. */
export function grpcTimeout(ms: number): string {
  const us = Math.max(0, Math.ceil(ms * 1000));
  if (us < 1e8) return `${us}u`;
  if (us / 1e3 < 1e8) return `${Math.ceil(us / 1e3)}m`;
  return `${Math.min(99_999_999, Math.ceil(us / 1e6))}S`;
}

/** A call in flight: its stream (none while it waits for a connection) and how it ends. */
interface Pending {
  req: UnaryRequest;
  stream?: http2.ClientHttp2Stream;
  /** When the call gives up (`performance.now()`). */
  deadline: number;
  settle: (st: CallStatus) => void;
  settled: boolean;
}

/** One HTTP/2 connection to the server, made again when lost; calls over it in order. */
export class H2Channel {
  /** The trace of the connection (its last attempt), as the tap records it. */
  readonly trace: ConnectionTrace;
  readonly #target: Target;
  readonly #ctx?: tls.SecureContext;
  #session?: http2.ClientHttp2Session;
  #connecting?: Promise<void>;
  /** Calls waiting for a connection. */
  #waiting: Pending[] = [];
  /** No call before this instant (`performance.now()`): the last attempt failed. */
  #failingUntil = 0;
  #lastFailure = "";
  #backoffMs = BACKOFF_FIRST_MS;
  #closed = false;
  /** Calls in the order they were made; all share one deadline length, so they expire in order. */
  readonly #inFlight: Pending[] = [];
  #head = 0;
  #timer?: ReturnType<typeof setTimeout>;

  constructor(target: Target) {
    this.#target = target;
    if (target.tlsMode === "insecure") {
      this.trace = {};
    } else {
      this.#ctx = clientSecureContext(target.tlsMode, target.tls);
      this.trace = watchContext(this.#ctx);
    }
  }

  /** `host:port` as every call's `:authority`. */
  get authority(): string {
    return targetString(this.#target);
  }

  /** Whether a connection is up. */
  get ready(): boolean {
    return this.#session !== undefined && !this.#session.closed && !this.#session.destroyed;
  }

  /**
   * One attempt to connect (every resolved address in turn); resolves when the server's SETTINGS
   * arrived, rejects with the last error. The trace says why.
   */
  connect(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    this.#connecting ??= this.#attempt(timeoutMs).finally(() => this.#connecting = undefined);
    return this.#connecting;
  }

  async #attempt(timeoutMs: number): Promise<void> {
    const t = this.#target;
    const until = performance.now() + timeoutMs;
    const addresses = net.isIP(t.host) ? [t.host] : await withTrace(
      this.trace,
      () => dns.promises.lookup(t.host, { all: true }),
    ).then((a) => a.map((x) => x.address));
    let last: Error = new Error("no address");
    for (const address of addresses) {
      if (this.#closed) throw new Error("channel closed");
      try {
        this.#session = await this.#open(address, Math.max(1, until - performance.now()));
        this.#backoffMs = BACKOFF_FIRST_MS;
        this.#failingUntil = 0;
        return;
      } catch (e) {
        last = e as Error;
      }
    }
    throw last;
  }

  /** TCP first, then TLS and HTTP/2 over it, as grpc-js does (the tap sees each phase). */
  async #open(address: string, timeoutMs: number): Promise<http2.ClientHttp2Session> {
    const until = performance.now() + timeoutMs;
    const raw = await new Promise<net.Socket>((resolve, reject) => {
      const s = withTrace(
        this.trace,
        () => net.connect({ host: address, port: this.#target.port }),
      );
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error("no connection before the deadline"));
      }, timeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        s.off("error", reject);
        resolve(s);
      });
      s.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    raw.setNoDelay(true);
    return await this.#session2(raw, Math.max(1, until - performance.now()));
  }

  /** TLS (unless insecure) and HTTP/2 over a connected socket, up to the server's SETTINGS. */
  #session2(raw: net.Socket, timeoutMs: number): Promise<http2.ClientHttp2Session> {
    const t = this.#target;
    return new Promise((resolve, reject) => {
      const socket: net.Socket = this.#ctx
        ? tls.connect({
          socket: raw,
          secureContext: this.#ctx,
          servername: t.serverName,
          ALPNProtocols: ["h2"],
        })
        : raw;
      const scheme = this.#ctx ? "https" : "http";
      const session = http2.connect(`${scheme}://${targetString(t)}`, {
        createConnection: () => socket,
        [OWN_STATUS_CHECK]: true,
      } as http2.ClientSessionOptions);
      const fail = (e: Error) => {
        clearTimeout(timer);
        session.destroy();
        socket.destroy();
        raw.destroy();
        reject(e);
      };
      const timer = setTimeout(
        () => fail(new Error("no connection before the deadline")),
        timeoutMs,
      );
      session.once("remoteSettings", () => {
        clearTimeout(timer);
        session.off("error", fail);
        session.off("close", closed);
        socket.off("error", fail);
        session.on("error", () => {/* ends its streams; they say so */});
        // The server is going away: calls in flight finish on it, new ones go to a new one.
        session.once("goaway", () => {
          this.#lost(session);
          session.close();
        });
        session.once("close", () => this.#lost(session));
        resolve(session);
      });
      const closed = () => {
        // Said now: the session's own "close", which the tap watches, comes a turn later.
        this.trace.closedBeforeSettings = true;
        fail(new Error("connection closed before HTTP/2 SETTINGS"));
      };
      session.once("error", fail);
      session.once("close", closed);
      socket.once("error", fail);
      socket.once("close", closed);
    });
  }

  #lost(session: http2.ClientHttp2Session): void {
    if (this.#session === session) this.#session = undefined;
  }

  /** A unary call; `done` gets its status once (deadline, reset and lost connection included). */
  call(req: UnaryRequest, deadlineMs: number, done: (st: CallStatus) => void): Pending {
    const p: Pending = {
      req,
      deadline: performance.now() + deadlineMs,
      settle: (st) => {
        if (p.settled) return;
        p.settled = true;
        done(st);
      },
      settled: false,
    };
    this.#inFlight.push(p);
    if (this.#timer === undefined) this.#armDeadline();
    if (this.ready) {
      this.#send(p);
    } else if (this.#closed) {
      p.settle({ code: UNAVAILABLE, details: "channel closed" });
    } else if (performance.now() < this.#failingUntil && !this.#connecting) {
      p.settle({ code: UNAVAILABLE, details: this.#lastFailure });
    } else {
      this.#waiting.push(p);
      this.#reconnect();
    }
    return p;
  }

  #reconnect(): void {
    if (this.#connecting) return;
    this.connect(Math.max(BACKOFF_MAX_MS, this.#backoffMs * 4)).then(() => {
      const w = this.#waiting;
      this.#waiting = [];
      for (const p of w) if (!p.settled) this.#send(p);
    }, (e: Error) => {
      this.#lastFailure = `connection to the server failed: ${e.message}`;
      this.#failingUntil = performance.now() + this.#backoffMs;
      this.#backoffMs = Math.min(BACKOFF_MAX_MS, this.#backoffMs * 1.6);
      const w = this.#waiting;
      this.#waiting = [];
      for (const p of w) p.settle({ code: UNAVAILABLE, details: this.#lastFailure });
    });
  }

  #send(p: Pending): void {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.#session!.request(p.req.headers, { endStream: false });
    } catch (e) {
      p.settle({ code: UNAVAILABLE, details: (e as Error).message });
      return;
    }
    p.stream = stream;
    const session = this.#session!;
    readUnary(stream, p.settle, () => session.destroyed || this.#session !== session);
    stream.end(p.req.frame);
  }

  /**
   * Arms one timer for the oldest call not yet ended. Deadlines come in the order of calls (one
   * length for all), so the timer is armed again only when it fires: about once per deadline,
   * not once per call.
   */
  #armDeadline(): void {
    const q = this.#inFlight;
    while (this.#head < q.length && q[this.#head].settled) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > q.length) {
      q.splice(0, this.#head);
      this.#head = 0;
    }
    this.#timer = undefined;
    if (this.#head === q.length || this.#closed) return;
    this.#timer = setTimeout(() => {
      const now = performance.now();
      for (let i = this.#head; i < q.length && q[i].deadline <= now; i++) {
        const p = q[i];
        if (p.settled) continue;
        p.stream?.close(http2.constants.NGHTTP2_CANCEL);
        p.settle({ code: 4, details: "Deadline exceeded" });
      }
      this.#armDeadline();
    }, Math.max(0, q[this.#head].deadline - performance.now()));
  }

  /** Ends every call still in flight as CANCELLED. */
  cancelAll(): void {
    for (let i = this.#head; i < this.#inFlight.length; i++) {
      const p = this.#inFlight[i];
      if (p.settled) continue;
      p.stream?.close(http2.constants.NGHTTP2_CANCEL);
      p.settle({ code: 1, details: "Cancelled on client" });
    }
  }

  /** Closes the connection (calls still in flight end as the server or the reset says). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#session?.close();
    this.#session = undefined;
  }
}

/**
 * Reads one unary response from `stream` and settles its status once: from the trailers (or a
 * trailers-only response), the HTTP status, or the reset; OK without exactly one message, or
 * with a broken frame, is INTERNAL.
 */
function readUnary(
  stream: http2.ClientHttp2Stream,
  settle: (st: CallStatus) => void,
  dropped: () => boolean,
): void {
  let status: CallStatus | undefined;
  let messages = 0;
  /** Bytes of the current frame still to come; -1 while its 5-byte prefix is incomplete. */
  let need = -1;
  let prefix: Buffer | undefined;
  let bad: CallStatus | undefined;
  let error: string | undefined;
  stream.on("response", (h) => {
    // Not a gRPC answer (HTTP status, content-type): that is the call's status, whatever follows.
    bad ??= statusOfHttp(h);
    status ??= statusOfHeaders(h);
  });
  stream.on("data", (chunk: Buffer) => {
    if (bad) return;
    let at = 0;
    while (at < chunk.length) {
      if (need < 0) {
        const take = Math.min(5 - (prefix?.length ?? 0), chunk.length - at);
        const part = chunk.subarray(at, at + take);
        prefix = prefix ? Buffer.concat([prefix, part]) : part;
        at += take;
        if (prefix.length < 5) return;
        const len = prefix.readUInt32BE(1);
        if (prefix[0] !== 0) {
          bad = { code: INTERNAL, details: "a compressed response, but no compression was asked" };
        } else if (len > MAX_RECEIVE_BYTES) {
          bad = {
            code: 8,
            details: `Received message larger than max (${len} vs. ${MAX_RECEIVE_BYTES})`,
          };
        }
        if (bad) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        messages++;
        need = len;
        prefix = undefined;
      }
      const take = Math.min(need, chunk.length - at);
      at += take;
      need -= take;
      if (need === 0) need = -1;
    }
  });
  stream.on("trailers", (h) => {
    status = statusOfHeaders(h) ?? status;
  });
  stream.on("error", (e: Error) => error ??= e.message);
  stream.on("close", () => {
    if (bad) return settle(bad);
    if (!status) return settle(statusOfReset(stream.rstCode, { error, dropped: dropped() }));
    if (status.code === 0) {
      if (messages === 0) return settle({ ...status, code: INTERNAL, details: NO_MESSAGE });
      if (messages > 1 || need >= 0 || prefix) {
        return settle({
          ...status,
          code: INTERNAL,
          details: messages > 1
            ? `${messages} response messages to a unary call`
            : "the response ended inside a message",
        });
      }
    }
    settle(status);
  });
}
