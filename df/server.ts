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
import * as grpc from "@grpc/grpc-js";
import * as net from "node:net";
import { scoreService } from "../proto/score.ts";
import { serverCredentials, type TlsMaterial, type TlsMode } from "../certs/tls.ts";
import { createHold } from "./hold.ts";
import { DEFAULT_PACING, type PacingMode } from "../smft/shared/pacer.ts";
import { addStandardServices } from "./standard.ts";
import { DEFAULT_LIMITS, type DfLimits } from "./limits.ts";
import { type DfEvent, type DfStats, newStats } from "./stats.ts";
import { Connections } from "./connections.ts";
import { getScore, InFlight } from "./get_score.ts";
import { http2ServerOf, observeConnections } from "./observe.ts";
import { MemoryBound } from "./memory_bound.ts";
import { shutdown } from "./shutdown.ts";

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

/** How often connections are checked against the time and buffer limits. */
const SWEEP_MS = 100;

/** Starts df; resolves once it listens. Throws with a one-line message if it cannot bind. */
export async function startDf(o: DfOptions): Promise<RunningDf> {
  const limits: DfLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const stats = newStats();
  const hold = createHold(o.delayMs, o.pacing ?? DEFAULT_PACING);
  const inFlight = new InFlight();
  let draining = false;
  const isDraining = () => draining;
  const secure = o.tlsMode !== "insecure";
  const conns = new Connections(stats, limits, secure, o.onEvent);

  const server = new grpc.Server({
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
    // Advertised in df's SETTINGS; nghttp2 refuses streams above it.
    "grpc.max_concurrent_streams": limits.maxStreams,
  });
  server.addService(scoreService, {
    GetScore: getScore({
      stats,
      hold,
      inFlight,
      draining: isDraining,
      connectionGone: (peer) => conns.gone(peer),
    }),
  });
  const standard = addStandardServices(server);

  // The TLS server's own handshake timer holds every connection until it fires (Deno 2.9.3):
  // a second after df's handshake limit, not Node's 120 s, so closed connections are let go
  // soon, and df's sweep still closes a slow handshake first, naming its own cause.
  const injector = server.createConnectionInjector(
    serverCredentials(o.tlsMode, o.tls, limits.handshakeTimeoutMs + 1000),
  );
  observeConnections(http2ServerOf(server), conns, isDraining);

  // Resident memory once a second; the connections' limits every sweep.
  const memory = new MemoryBound(stats, limits.maxRssMb, o.onEvent);
  memory.check();
  let sweeps = 0;
  const sweep = setInterval(() => {
    if (++sweeps % 10 === 0) memory.check();
    conns.sweep(performance.now());
  }, SWEEP_MS);

  const listener = net.createServer({ noDelay: true }, (socket) => {
    if (conns.accept(socket, memory.over)) injector.injectConnection(socket);
  });

  // Listening says df is ready: its hold must keep time from the first call.
  await hold.ready();
  await listen(listener, o.host, o.port, () => {
    hold.close();
    clearInterval(sweep);
  });
  const port = (listener.address() as net.AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (graceMs = 5000): Promise<void> => {
    closing ??= shutdown({
      server,
      injector,
      listener,
      conns,
      inFlight,
      hold,
      sweep,
      startDraining: () => {
        draining = true;
        standard.draining();
      },
    }, graceMs);
    return closing;
  };

  return { host: o.host, port, stats, limits, close };
}

/**
 * Listens on `host:port`; rejects with a one-line message if it cannot, after `onError` (which
 * also runs on a later error of the listener).
 */
function listen(
  listener: net.Server,
  host: string,
  port: number,
  onError: () => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    listener.once("error", (e: NodeJS.ErrnoException) => {
      onError();
      reject(
        new Error(
          e.code === "EADDRINUSE"
            ? `port ${port} on ${host} is already in use`
            : e.code === "EADDRNOTAVAIL" || e.code === "EINVAL"
            ? `address ${host} is not available on this host`
            : e.code === "EACCES"
            ? `no permission to listen on ${host}:${port}`
            : `cannot listen on ${host}:${port}: ${e.message}`,
        ),
      );
    });
    listener.listen(port, host, () => resolve());
  });
}
