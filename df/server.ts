/**
 * The system under test: `score.ScoreService/GetScore` over TLS 1.3 with mutual TLS, holding each
 * call for a precise delay and reporting its own handling time in trailing metadata.
 *
 * df owns the listening socket and hands each accepted TCP connection to grpc-js through a
 * connection injector: that is how it counts connections, knows each peer's address, and
 * enforces its limits on one misbehaving client (df/limits.ts) before grpc-js sees a byte.
 *
 * @module
 */
import { getHeapStatistics } from "node:v8";
import * as grpc from "@grpc/grpc-js";
import * as net from "node:net";
import type * as http2 from "node:http2";
import type * as tls from "node:tls";
import {
  HANDLING_METADATA_KEY,
  type JsonVector,
  type ScoreResponse,
  scoreService,
} from "../proto/score.ts";
import { serverCredentials, type TlsMaterial, type TlsMode } from "../certs/tls.ts";
import { createHold } from "./hold.ts";
import { DEFAULT_PACING, type PacingMode } from "../smft/shared/pacer.ts";
import { refusalReason } from "./causes.ts";
import { addStandardServices } from "./standard.ts";
import {
  admitConnection,
  connectionVerdict,
  DEFAULT_LIMITS,
  type DfLimits,
  handshakeToEvict,
} from "./limits.ts";

/** What df needs to start. */
export interface DfOptions {
  /** Address to bind. @default "0.0.0.0" */
  host: string;
  /** Port; 0 picks a free one. @default 50051 */
  port: number;
  /** Hold per call, in ms (fractional allowed). @default 5 */
  delayMs: number;
  /** How the hold waits. @default DEFAULT_PACING */
  pacing?: PacingMode;
  tlsMode: TlsMode;
  tls: TlsMaterial;
  /** Limits against a misbehaving client; unset ones take {@link DEFAULT_LIMITS}. */
  limits?: Partial<DfLimits>;
  /** Called for connection events; df's main turns them into log lines. */
  onEvent?: (e: DfEvent) => void;
}

/** Something worth a log line. */
export type DfEvent =
  /** A connection refused before or during its handshake, or at a connection limit. */
  | { type: "refused"; peer: string; reason: string }
  /** An established connection df closed (the client does not read, idle). */
  | { type: "closed"; peer: string; reason: string }
  | { type: "error"; message: string }
  /** A change of state worth a line (the memory bound reached or left). */
  | { type: "notice"; message: string };

/** Counters, live. */
export interface DfStats {
  calls: number;
  /** V8's `total_allocated_bytes` when the first call arrived (0 before). */
  allocAtFirstCall: number;
  byCode: Record<string, number>;
  connectionsAccepted: number;
  connectionsOpen: number;
  /** Connections refused: at a limit, or before their handshake finished. */
  handshakesRefused: number;
  refusedByReason: Record<string, number>;
  /** Established connections df closed, by cause. */
  closedByReason: Record<string, number>;
  /** Held calls whose wait was cut short: their connection closed, or the client cancelled. */
  heldDropped: { connectionClosed: number; cancelledByClient: number };
  /**
   * Calls df answered OK whose answer never reached the client's side of the connection (it
   * closed first, or its flow-control window stayed shut): not counted OK.
   */
  unwritten: number;
  /** Highest resident memory seen, sampled once a second, MiB. */
  rssPeakMb: number;
  /** Connections accepted per peer address (the first 100 addresses seen). */
  connectionsByPeer: Record<string, number>;
}

/** A running df. */
export interface RunningDf {
  host: string;
  port: number;
  stats: DfStats;
  /** The limits in force. */
  limits: DfLimits;
  /** Stops accepting, lets calls in flight finish for up to `graceMs`, then closes. */
  close(graceMs?: number): Promise<void>;
}

/** One accepted TCP connection, as df tracks it. */
interface Conn {
  raw: net.Socket;
  /** The TLS socket on top of `raw`, once its handshake finished. */
  tls?: tls.TLSSocket;
  peer: string;
  address: string;
  acceptedAt: number;
  secure: boolean;
  /** Streams open. */
  active: number;
  lastActive: number;
  /** Why df closed it, once it has. */
  closedCause?: string;
  /** Its cause has been counted and reported. */
  reported: boolean;
  /** Counted among the unfinished handshakes (accepted, not yet secure, not closed). */
  pending: boolean;
}

/** How often connections are checked against the time and buffer limits. */
const SWEEP_MS = 100;

function peerOf(address: string | undefined, port: number | undefined): string {
  const a = address ?? "?";
  return `${a.includes(":") ? `[${a}]` : a}:${port ?? "?"}`;
}

/** Starts df; resolves once it listens. Throws with a one-line message if it cannot bind. */
export async function startDf(o: DfOptions): Promise<RunningDf> {
  const limits: DfLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const stats: DfStats = {
    calls: 0,
    allocAtFirstCall: 0,
    byCode: {},
    connectionsAccepted: 0,
    connectionsOpen: 0,
    handshakesRefused: 0,
    refusedByReason: {},
    closedByReason: {},
    heldDropped: { connectionClosed: 0, cancelledByClient: 0 },
    unwritten: 0,
    rssPeakMb: 0,
    connectionsByPeer: {},
  };
  const count = (code: string) => {
    stats.calls++;
    stats.byCode[code] = (stats.byCode[code] ?? 0) + 1;
  };
  const hold = createHold(o.delayMs, o.pacing ?? DEFAULT_PACING);
  let inflight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;

  /** Open connections by `remoteAddress:remotePort`, the form grpc-js's `getPeer()` returns. */
  const conns = new Map<string, Conn>();
  const openByAddress = new Map<string, number>();
  // Unfinished handshakes by address, oldest first: their own budget (df/limits.ts).
  const pendingByAddress = new Map<string, Set<Conn>>();
  let pendingTotal = 0;
  const settlePending = (c: Conn) => {
    if (!c.pending) return;
    c.pending = false;
    pendingTotal--;
    const set = pendingByAddress.get(c.address);
    set?.delete(c);
    if (set?.size === 0) pendingByAddress.delete(c.address);
  };
  const keyOf = (address: string | undefined, port: number | undefined) => `${address}:${port}`;

  const refuse = (c: { peer: string }, reason: string) => {
    stats.handshakesRefused++;
    stats.refusedByReason[reason] = (stats.refusedByReason[reason] ?? 0) + 1;
    o.onEvent?.({ type: "refused", peer: c.peer, reason });
  };
  /** Closes a connection for `reason`, counted and reported once. */
  const closeFor = (c: Conn, reason: string) => {
    if (c.closedCause) return;
    c.closedCause = reason;
    if (!c.secure) {
      c.reported = true;
      refuse(c, reason);
    } else {
      c.reported = true;
      stats.closedByReason[reason] = (stats.closedByReason[reason] ?? 0) + 1;
      o.onEvent?.({ type: "closed", peer: c.peer, reason });
    }
    c.tls?.destroy();
    c.raw.destroy();
  };

  const server = new grpc.Server({
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
    // Advertised in df's SETTINGS; nghttp2 refuses streams above it.
    "grpc.max_concurrent_streams": limits.maxStreams,
  });
  server.addService(scoreService, {
    GetScore(
      call: grpc.ServerUnaryCall<JsonVector, ScoreResponse>,
      callback: grpc.sendUnaryData<ScoreResponse>,
    ) {
      const received = performance.now();
      if (stats.allocAtFirstCall === 0) {
        stats.allocAtFirstCall = getHeapStatistics().total_allocated_bytes;
      }
      if (draining) {
        count("UNAVAILABLE");
        callback({ code: grpc.status.UNAVAILABLE, details: "df is shutting down" });
        return;
      }
      try {
        JSON.parse(call.request.json);
      } catch {
        count("INVALID_ARGUMENT");
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "field json is not valid JSON" });
        return;
      }
      inflight++;
      // The hold keeps only this small record; a call whose client is gone is let go at once
      // (its stream and session can be collected), and the timer's entry fires as a no-op.
      let pending: { call: typeof call; callback: typeof callback } | undefined = {
        call,
        callback,
      };
      const release = () => {
        pending = undefined;
        if (--inflight === 0) onIdle?.();
      };
      call.once("cancelled", () => {
        if (!pending) return;
        // Looked up only here: a peer string per call is work the common path does not need.
        const conn = conns.get(call.getPeer());
        const gone = !conn || conn.raw.destroyed || conn.closedCause !== undefined ||
          conn.tls?.destroyed === true;
        if (gone) stats.heldDropped.connectionClosed++;
        else stats.heldDropped.cancelledByClient++;
        count("CANCELLED");
        release();
      });
      hold.hold(received, () => {
        const p = pending;
        if (!p) return;
        release();
        if (p.call.cancelled) {
          count("CANCELLED");
          return;
        }
        const trailer = new grpc.Metadata();
        trailer.set(
          HANDLING_METADATA_KEY,
          String(Math.round((performance.now() - received) * 1000)),
        );
        // Counted OK only once its answer is written (the stream's wantTrailers, below).
        p.callback(null, { score: Math.random() }, trailer);
      });
    },
  });

  const standard = addStandardServices(server);

  // The TLS server's own handshake timer holds every connection until it fires (Deno 2.9.3):
  // a second after df's handshake limit, not Node's 120 s, so closed connections are let go
  // soon, and df's sweep still closes a slow handshake first, naming its own cause.
  const injector = server.createConnectionInjector(
    serverCredentials(o.tlsMode, o.tls, limits.handshakeTimeoutMs + 1000),
  );
  // grpc-js keeps the (TLS or plaintext) HTTP/2 server it made for the injector private; df
  // listens on it for handshake errors, finished handshakes and sessions.
  const servers = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> })
    .http2Servers;
  const h2Server = servers ? [...servers.keys()].at(-1) : undefined;
  if (!h2Server) throw new Error("grpc-js internals changed: cannot observe connections");
  if (o.tlsMode !== "insecure") {
    h2Server.on("secureConnection", (socket: tls.TLSSocket) => {
      const c = conns.get(keyOf(socket.remoteAddress, socket.remotePort));
      if (!c) return;
      settlePending(c);
      c.secure = true;
      c.tls = socket;
      c.lastActive = performance.now();
    });
    h2Server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      const raw = (socket as unknown as { _parent?: net.Socket })._parent ?? socket;
      const c = conns.get(keyOf(raw.remoteAddress, raw.remotePort)) ??
        [...conns.values()].find((x) => x.raw === raw);
      // A failed handshake is no longer pending, though its socket may close only later.
      if (c) settlePending(c);
      if (c?.reported) return;
      const reason = c?.closedCause ?? refusalReason(err.message, {
        // Node types it as an Error; Deno (like Node at run time) leaves the code string.
        authorizationError: String(socket.authorizationError ?? "") || undefined,
        bytesRead: raw.bytesRead,
      });
      if (c) c.reported = true;
      refuse(c ?? { peer: peerOf(raw.remoteAddress, raw.remotePort) }, reason);
    });
  }
  h2Server.on("session", (session: http2.ServerHttp2Session) => {
    const s = session.socket;
    const c = conns.get(keyOf(s?.remoteAddress, s?.remotePort));
    if (!c) return;
    c.lastActive = performance.now();
    // A session ended by an HTTP/2 error (a flood nghttp2 stopped, a broken frame) is closed by
    // df's side: said and counted like every other connection df closes.
    session.on("error", (e: Error & { code?: string }) => {
      // A socket error (the client reset it) is the client's doing, not df's.
      if (draining || !e.code?.startsWith("ERR_HTTP2")) return;
      closeFor(c, `HTTP/2 error, the session was ended: ${e.message} (${e.code})`);
    });
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      c.active++;
      // An OK answer is the one grpc-js ends with stream.end() (errors are trailers-only); it
      // is written once its last DATA frame went out, when the stream asks for its trailers.
      // A window the client never opens, or a close first, leaves it unwritten: not OK.
      let answered = false;
      let written = false;
      const end = stream.end;
      stream.end = function (this: http2.ServerHttp2Stream, ...a: unknown[]) {
        answered = true;
        return (end as (...x: unknown[]) => http2.ServerHttp2Stream).apply(this, a);
      } as typeof stream.end;
      stream.once("wantTrailers", () => written = true);
      stream.once("close", () => {
        c.active--;
        c.lastActive = performance.now();
        if (!answered) return;
        if (written) count("OK");
        else stats.unwritten++;
      });
    });
  });

  // Resident memory once a second: its peak for the totals, and the bound (--max-rss-mb).
  let overMemory = false;
  let sweeps = 0;
  const checkMemory = () => {
    const mb = Deno.memoryUsage().rss / 1048576;
    stats.rssPeakMb = Math.max(stats.rssPeakMb, Math.round(mb));
    if (limits.maxRssMb <= 0) return;
    if (!overMemory && mb > limits.maxRssMb) {
      overMemory = true;
      o.onEvent?.({
        type: "notice",
        message: `resident memory ${mb.toFixed(0)} MiB is over --max-rss-mb ${limits.maxRssMb}: ` +
          `refusing new connections, serving the ${stats.connectionsOpen} open ones`,
      });
    } else if (overMemory && mb < 0.9 * limits.maxRssMb) {
      overMemory = false;
      o.onEvent?.({
        type: "notice",
        message: `resident memory ${mb.toFixed(0)} MiB, under 90 % of --max-rss-mb ` +
          `${limits.maxRssMb}: accepting new connections again`,
      });
    }
  };
  checkMemory();
  const sweep = setInterval(() => {
    if (++sweeps % 10 === 0) checkMemory();
    const now = performance.now();
    for (const c of conns.values()) {
      if (c.closedCause || c.reported || c.raw.destroyed) continue;
      const verdict = connectionVerdict(
        {
          acceptedAt: c.acceptedAt,
          secure: c.secure,
          bytesRead: c.raw.bytesRead,
          active: c.active,
          lastActive: c.lastActive,
          buffered: (c.tls?.writableLength ?? 0) + c.raw.writableLength,
        },
        now,
        limits,
      );
      if (verdict) closeFor(c, verdict);
    }
  }, SWEEP_MS);

  const listener = net.createServer({ noDelay: true }, (socket) => {
    const address = socket.remoteAddress ?? "?";
    const peer = peerOf(socket.remoteAddress, socket.remotePort);
    socket.on("error", () => {/* reported through tlsClientError or the session */});
    const refusal = overMemory
      ? `memory bound: resident memory over --max-rss-mb ${limits.maxRssMb} MiB`
      : admitConnection(
        {
          total: conns.size,
          fromAddress: openByAddress.get(address) ?? 0,
          handshakesFromAddress: pendingByAddress.get(address)?.size ?? 0,
        },
        limits,
      );
    if (refusal) {
      refuse({ peer }, refusal);
      socket.destroy();
      return;
    }
    if (o.tlsMode !== "insecure" && pendingTotal >= limits.maxHandshakes) {
      // The budget of unfinished handshakes is full: the busiest address gives up its oldest.
      const from = handshakeToEvict(
        new Map([...pendingByAddress].map(([a, set]) => [a, set.size])),
      );
      const oldest = from === undefined ? undefined : pendingByAddress.get(from)?.values().next();
      if (oldest && !oldest.done) {
        const victim = oldest.value;
        settlePending(victim);
        closeFor(
          victim,
          `limit reached: ${limits.maxHandshakes} unfinished handshakes in all (the oldest of ` +
            `the address with the most was closed to make room)`,
        );
      }
    }
    stats.connectionsAccepted++;
    stats.connectionsOpen++;
    const byPeer = stats.connectionsByPeer;
    if (address in byPeer || Object.keys(byPeer).length < 100) {
      byPeer[address] = (byPeer[address] ?? 0) + 1;
    }
    const now = performance.now();
    const c: Conn = {
      raw: socket,
      peer,
      address,
      acceptedAt: now,
      secure: o.tlsMode === "insecure",
      active: 0,
      lastActive: now,
      reported: false,
      pending: o.tlsMode !== "insecure",
    };
    const key = keyOf(socket.remoteAddress, socket.remotePort);
    conns.set(key, c);
    if (c.pending) {
      pendingTotal++;
      const set = pendingByAddress.get(address) ?? new Set<Conn>();
      set.add(c);
      pendingByAddress.set(address, set);
    }
    openByAddress.set(address, (openByAddress.get(address) ?? 0) + 1);
    socket.once("close", () => {
      settlePending(c);
      stats.connectionsOpen--;
      // The TLS layer reports a refused handshake when its socket closes: look the connection
      // up a little later.
      setTimeout(() => conns.delete(key), 1000);
      const n = (openByAddress.get(address) ?? 1) - 1;
      if (n > 0) openByAddress.set(address, n);
      else openByAddress.delete(address);
    });
    injector.injectConnection(socket);
  });

  // Listening says df is ready: its hold must keep time from the first call.
  await hold.ready();
  await new Promise<void>((resolve, reject) => {
    listener.once("error", (e: NodeJS.ErrnoException) => {
      hold.close();
      clearInterval(sweep);
      reject(
        new Error(
          e.code === "EADDRINUSE"
            ? `port ${o.port} on ${o.host} is already in use`
            : e.code === "EADDRNOTAVAIL" || e.code === "EINVAL"
            ? `address ${o.host} is not available on this host`
            : e.code === "EACCES"
            ? `no permission to listen on ${o.host}:${o.port}`
            : `cannot listen on ${o.host}:${o.port}: ${e.message}`,
        ),
      );
    });
    listener.listen(o.port, o.host, () => resolve());
  });
  const port = (listener.address() as net.AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (graceMs = 5000): Promise<void> => {
    closing ??= (async () => {
      // Deno's Http2Session.close() drops open streams instead of draining them, so df
      // drains itself: refuse new calls, wait for held ones, then close everything.
      draining = true;
      standard.draining();
      listener.close();
      const deadline = performance.now() + graceMs;
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      // An answered call is not yet sent: wait until every stream has closed and every socket
      // has handed its bytes to the kernel, within the grace period, then close the sessions
      // gracefully (GOAWAY) before anything is destroyed.
      const busy = (c: Conn) =>
        c.active > 0 || (c.tls?.writableLength ?? 0) > 0 || c.raw.writableLength > 0;
      while (performance.now() < deadline && [...conns.values()].some(busy)) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          Math.max(100, Math.min(1000, deadline - performance.now())),
        );
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      clearInterval(sweep);
      server.forceShutdown();
      injector.destroy();
      for (const c of conns.values()) c.raw.destroy();
      hold.close();
    })();
    return closing;
  };

  return { host: o.host, port, stats, limits, close };
}
