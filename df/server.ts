/**
 * The system under test: `score.ScoreService/GetScore` over TLS 1.3 with mutual TLS, holding each
 * call for a precise delay and reporting its own handling time in trailing metadata.
 *
 * df owns the listening socket and hands each accepted TCP connection to grpc-js through a
 * connection injector: that is how it counts connections and knows each peer's address, which
 * it needs to log refused handshakes.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import * as net from "node:net";
import type * as tls from "node:tls";
import {
  HANDLING_METADATA_KEY,
  type JsonVector,
  type ScoreResponse,
  scoreService,
} from "../proto/score.ts";
import { serverCredentials, type TlsMaterial, type TlsMode } from "../certs/tls.ts";
import { createHold } from "./hold.ts";

/** What df needs to start. */
export interface DfOptions {
  /** Address to bind. @default "0.0.0.0" */
  host: string;
  /** Port; 0 picks a free one. @default 50051 */
  port: number;
  /** Hold per call, in ms (fractional allowed). @default 5 */
  delayMs: number;
  tlsMode: TlsMode;
  tls: TlsMaterial;
  /** Called for connection events; df's main turns them into log lines. */
  onEvent?: (e: DfEvent) => void;
}

/** Something worth a log line. */
export type DfEvent =
  | { type: "refused"; peer: string; reason: string }
  | { type: "error"; message: string };

/** Counters, live. */
export interface DfStats {
  calls: number;
  byCode: Record<string, number>;
  connectionsAccepted: number;
  connectionsOpen: number;
  handshakesRefused: number;
  refusedByReason: Record<string, number>;
  /** Connections accepted per peer address (the first 100 addresses seen). */
  connectionsByPeer: Record<string, number>;
}

/** A running df. */
export interface RunningDf {
  host: string;
  port: number;
  stats: DfStats;
  /** Stops accepting, lets calls in flight finish for up to `graceMs`, then closes. */
  close(graceMs?: number): Promise<void>;
}

/** TLS alerts (rustls names) a client sends when it does not accept the server's certificate. */
const CERTIFICATE_ALERTS = [
  "UnknownCA",
  "CertificateExpired",
  "BadCertificate",
  "UnsupportedCertificate",
  "CertificateUnknown",
  "CertificateRevoked",
  "AccessDenied",
];

/** Reasons a handshake was refused, in words an operator can act on. */
export function refusalReason(message: string): string {
  const m = message.toLowerCase();
  // An alert df *received* is the client refusing df, not df refusing the client: without this,
  // "received fatal alert: CertificateExpired" (df's own certificate expired) would be logged as
  // "client certificate expired".
  const alert = /received fatal alert: (\w+)/i.exec(message)?.[1];
  if (alert) {
    return CERTIFICATE_ALERTS.includes(alert)
      ? `the client does not accept df's certificate (alert ${alert})`
      : `the client aborted the handshake (alert ${alert})`;
  }
  if (m.includes("no certificates") || m.includes("certificaterequired")) {
    return "no client certificate";
  }
  if (m.includes("tls12") || m.includes("protocol version") || m.includes("protocolversion")) {
    return "client does not offer TLS 1.3";
  }
  if (m.includes("unknownissuer") || m.includes("unknown ca") || m.includes("unknown issuer")) {
    return "client certificate from an unknown CA";
  }
  if (m.includes("expired")) return "client certificate expired";
  if (m.includes("notvalidyet") || m.includes("not yet valid")) {
    return "client certificate not yet valid";
  }
  if (m.includes("purpose") || m.includes("extendedkeyusage") || m.includes("invalidpurpose")) {
    return "client certificate not valid for client authentication";
  }
  if (m.includes("socket hang up") || m.includes("econnreset")) {
    // Deno's rustls server drops the reason when it rejects a client certificate.
    return "client certificate rejected (unknown CA, expired, not yet valid, or not for client auth) or connection dropped";
  }
  if (m.includes("corrupt") || m.includes("invalid content type") || m.includes("wrong version")) {
    return "not a TLS handshake (plaintext or garbage)";
  }
  return message;
}

function peerOf(socket: net.Socket): string {
  const a = socket.remoteAddress ?? "?";
  return `${a.includes(":") ? `[${a}]` : a}:${socket.remotePort ?? "?"}`;
}

/** Starts df; resolves once it listens. Throws with a one-line message if it cannot bind. */
export async function startDf(o: DfOptions): Promise<RunningDf> {
  const stats: DfStats = {
    calls: 0,
    byCode: {},
    connectionsAccepted: 0,
    connectionsOpen: 0,
    handshakesRefused: 0,
    refusedByReason: {},
    connectionsByPeer: {},
  };
  const count = (code: string) => {
    stats.calls++;
    stats.byCode[code] = (stats.byCode[code] ?? 0) + 1;
  };
  const hold = createHold(o.delayMs);
  let inflight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  await hold.ready();

  const server = new grpc.Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
  server.addService(scoreService, {
    GetScore(
      call: grpc.ServerUnaryCall<JsonVector, ScoreResponse>,
      callback: grpc.sendUnaryData<ScoreResponse>,
    ) {
      const received = performance.now();
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
      hold.hold(received, () => {
        if (--inflight === 0) onIdle?.();
        if (call.cancelled) {
          count("CANCELLED");
          return;
        }
        const trailer = new grpc.Metadata();
        trailer.set(
          HANDLING_METADATA_KEY,
          String(Math.round((performance.now() - received) * 1000)),
        );
        count("OK");
        callback(null, { score: Math.random() }, trailer);
      });
    },
  });

  const injector = server.createConnectionInjector(serverCredentials(o.tlsMode, o.tls));
  if (o.tlsMode !== "insecure") {
    // grpc-js keeps the TLS server it made for the injector private; its handshake errors are
    // the only record of a refused peer, so listen on it.
    const servers = (server as unknown as { http2Servers?: Map<tls.Server, unknown> })
      .http2Servers;
    const tlsServer = servers ? [...servers.keys()].at(-1) : undefined;
    if (!tlsServer) throw new Error("grpc-js internals changed: cannot observe TLS handshakes");
    tlsServer.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      const raw = (socket as unknown as { _parent?: net.Socket })._parent ?? socket;
      const reason = refusalReason(err.message);
      stats.handshakesRefused++;
      stats.refusedByReason[reason] = (stats.refusedByReason[reason] ?? 0) + 1;
      o.onEvent?.({ type: "refused", peer: peerOf(raw), reason });
    });
  }

  const sockets = new Set<net.Socket>();
  const listener = net.createServer({ noDelay: true }, (socket) => {
    stats.connectionsAccepted++;
    stats.connectionsOpen++;
    const addr = socket.remoteAddress ?? "?";
    const byPeer = stats.connectionsByPeer;
    if (addr in byPeer || Object.keys(byPeer).length < 100) byPeer[addr] = (byPeer[addr] ?? 0) + 1;
    sockets.add(socket);
    socket.once("close", () => {
      stats.connectionsOpen--;
      sockets.delete(socket);
    });
    socket.on("error", () => {/* reported through tlsClientError or the session */});
    injector.injectConnection(socket);
  });

  await new Promise<void>((resolve, reject) => {
    listener.once("error", (e: NodeJS.ErrnoException) => {
      hold.close();
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
      listener.close();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          onIdle = () => {
            clearTimeout(timer);
            // Let the last responses leave before the sockets close.
            setTimeout(resolve, 20);
          };
        });
      }
      server.forceShutdown();
      injector.destroy();
      for (const s of sockets) s.destroy();
      hold.close();
    })();
    return closing;
  };

  return { host: o.host, port, stats, close };
}
