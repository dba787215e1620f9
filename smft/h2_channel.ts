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
import { nextBackoffMs, RECONNECT_BACKOFF, type Target, targetString } from "./channel.ts";
import { type ConnectionTrace, OWN_STATUS_CHECK, watchContext, withTrace } from "./tap.ts";
import type { CallStatus, ConnectionFate } from "./grpc_status.ts";
import { readUnary } from "./unary_read.ts";

export type { CallStatus };

/** A connect after a loss waits this long at most (grpc-js has none; calls have deadlines). */
const RECONNECT_TIMEOUT_MS = 20_000;
/** Calls on one connection before it is replaced: a session has ~2^30 client stream ids. */
const CALLS_PER_SESSION = 1_000_000_000;
/** As grpc-js sets its sessions: no cap on the session's memory, large header blocks. */
const SESSION_OPTIONS = {
  maxSessionMemory: Number.MAX_SAFE_INTEGER,
  maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
};

const UNAVAILABLE = 14;

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

/** A connection: its session, what happened to it, and how many calls it carried. */
interface Conn {
  session: http2.ClientHttp2Session;
  /** What a stream closing without a status reads (`statusOfReset`). */
  fate: ConnectionFate;
  calls: number;
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
  #conn?: Conn;
  #connecting?: Promise<void>;
  /** Calls waiting for a connection. */
  #waiting: Pending[] = [];
  /** No call before this instant (`performance.now()`): the last attempt failed. */
  #failingUntil = 0;
  #lastFailure = "";
  #backoffMs: number = RECONNECT_BACKOFF.firstMs;
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

  /** Whether a connection is up and takes new calls. */
  get ready(): boolean {
    const s = this.#conn?.session;
    return s !== undefined && !s.closed && !s.destroyed;
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
    const addresses = net.isIP(t.host) ? [t.host] : await within(
      withTrace(this.trace, () => dns.promises.lookup(t.host, { all: true })),
      timeoutMs,
      `no answer for ${t.host} from the name resolver`,
    ).then((a) => a.map((x) => x.address));
    let last: Error = new Error(`no address for ${t.host}`);
    for (const [i, address] of addresses.entries()) {
      if (this.#closed) throw new Error("channel closed");
      // An address that never answers must leave time for the next ones: half what is left.
      const left = until - performance.now();
      const budget = i === addresses.length - 1 ? left : left / 2;
      try {
        const session = await this.#open(address, Math.max(1, budget));
        if (this.#closed) {
          session.destroy();
          throw new Error("channel closed");
        }
        this.#adopt(session);
        return;
      } catch (e) {
        last = e as Error;
      }
    }
    throw last;
  }

  /** Takes a connected session as the channel's connection and follows what happens to it. */
  #adopt(session: http2.ClientHttp2Session): void {
    let dropped = false;
    const fate = {
      // Read when a stream closes, which can be before the session says it closed.
      get dropped() {
        return dropped || session.destroyed;
      },
      goaway: false,
    };
    const conn: Conn = { session, fate, calls: 0 };
    const lost = (drop: boolean) => {
      if (drop) dropped = true;
      if (this.#conn === conn) this.#conn = undefined;
    };
    session.on("error", () => lost(true));
    session.once("close", () => lost(true));
    session.socket?.once("close", () => lost(true));
    // The server is going away: calls in flight finish on it, new ones go to a new connection.
    session.once("goaway", () => {
      conn.fate.goaway = true;
      lost(false);
      session.close();
    });
    this.#conn = conn;
    this.#backoffMs = RECONNECT_BACKOFF.firstMs;
    this.#failingUntil = 0;
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
    return await this.#session(raw, Math.max(1, until - performance.now()));
  }

  /** TLS (unless insecure) and HTTP/2 over a connected socket, up to the server's SETTINGS. */
  #session(raw: net.Socket, timeoutMs: number): Promise<http2.ClientHttp2Session> {
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
        ...SESSION_OPTIONS,
        createConnection: () => socket,
        [OWN_STATUS_CHECK]: true,
      } as http2.ClientSessionOptions);
      // Errors are read by the listeners below until SETTINGS, by #adopt's after; a socket or
      // session may emit more than one, and none may go uncaught.
      for (const e of [session, socket, raw]) e.on("error", () => {});
      let done = false;
      const fail = (e: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        session.destroy();
        socket.destroy();
        raw.destroy();
        reject(e);
      };
      // Said at once: the session's own "close", which the tap watches, comes a turn later, and
      // connectCause() reads the trace as soon as this attempt fails.
      const failed = (e: Error) => {
        if (!done) this.trace.closedBeforeSettings = true;
        fail(e);
      };
      const closed = () => failed(new Error("connection closed before HTTP/2 SETTINGS"));
      const timer = setTimeout(
        () => fail(new Error("no connection before the deadline")),
        timeoutMs,
      );
      session.once("remoteSettings", () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(session);
      });
      for (const e of [session, socket]) {
        e.once("error", failed);
        e.once("close", closed);
      }
    });
  }

  /** A unary call; `done` gets its status once (deadline, reset and lost connection included). */
  call(req: UnaryRequest, deadlineMs: number, done: (st: CallStatus) => void): void {
    const p: Pending = {
      req,
      deadline: performance.now() + deadlineMs,
      settle: (st) => {
        if (p.settled) return;
        p.settled = true;
        p.stream = undefined;
        done(st);
      },
      settled: false,
    };
    this.#inFlight.push(p);
    if (this.#timer === undefined) this.#armDeadline();
    if (this.ready) {
      this.#send(p, this.#conn!);
    } else if (this.#closed) {
      p.settle({ code: UNAVAILABLE, details: "channel closed" });
    } else if (performance.now() < this.#failingUntil && !this.#connecting) {
      p.settle({ code: UNAVAILABLE, details: this.#lastFailure });
    } else {
      this.#waiting.push(p);
      this.#reconnect();
    }
  }

  #reconnect(): void {
    if (this.#connecting) return;
    this.connect(RECONNECT_TIMEOUT_MS).then(() => {
      const w = this.#waiting;
      this.#waiting = [];
      for (const p of w) if (!p.settled) this.#send(p, this.#conn!);
    }, (e: Error) => {
      this.#lastFailure = `connection to the server failed: ${e.message}`;
      this.#failingUntil = performance.now() + this.#backoffMs;
      this.#backoffMs = nextBackoffMs(this.#backoffMs);
      this.#failWaiting(this.#lastFailure);
    });
  }

  #failWaiting(details: string): void {
    const w = this.#waiting;
    this.#waiting = [];
    for (const p of w) p.settle({ code: UNAVAILABLE, details });
  }

  #send(p: Pending, conn: Conn): void {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = conn.session.request(p.req.headers, { endStream: false });
    } catch (e) {
      p.settle({ code: UNAVAILABLE, details: (e as Error).message });
      return;
    }
    // Stream ids run out after ~2^30 calls: the next call goes to a new connection.
    if (++conn.calls >= CALLS_PER_SESSION && this.#conn === conn) {
      this.#conn = undefined;
      conn.session.close();
    }
    p.stream = stream;
    readUnary(stream, p.settle, conn.fate);
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

  /**
   * Closes the connection: calls in flight end as the server or the reset says, calls waiting
   * for a connection end UNAVAILABLE.
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#conn?.session.close();
    this.#conn = undefined;
    this.#failWaiting("channel closed");
  }
}

/** `p`, or a rejection with `message` after `ms`. */
function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
