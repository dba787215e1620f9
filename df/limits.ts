/**
 * df's limits against a misbehaving client, their defaults, and the pure decisions made with
 * them (admit a connection or not; is a connection idle; has a client stopped reading).
 *
 * The defaults are chosen so that no legitimate load test fails on them (see df/README.md,
 * "Limits"): the seed's 2,000 calls/s over one channel with a 1 s deadline has ~12 streams in
 * flight while df keeps up and up to ~2,000 owed when df stalls for a whole deadline.
 *
 * @module
 */

/** The limits df enforces. */
export interface DfLimits {
  /**
   * Concurrent streams per connection, advertised in HTTP/2 SETTINGS
   * (`SETTINGS_MAX_CONCURRENT_STREAMS`); a client that opens more has them refused
   * (REFUSED_STREAM, then GOAWAY). A compliant client (grpc-js, grpc-go, nghttp2) never exceeds
   * it: it queues further calls on its side, so nothing fails. df at 2,000/s needs ~12; a stall
   * of a whole 1 s deadline owes ~2,000, of which 256 wait on the wire and the rest in the
   * client. Measured: a flood up to a limit of 1,024-4,096 stalls df for ~1 s (other clients'
   * calls miss a 1 s deadline); 256 does not. Go's HTTP/2 server uses 250, nginx 128.
   * @default 256
   */
  maxStreams: number;
  /**
   * Open connections from one client address; more are closed at once. Above the 551 that the
   * fault tests open from one address, with room for several load generators behind one NAT.
   * @default 1024
   */
  maxConnectionsPerAddress: number;
  /** Open connections in all; more are closed at once. @default 4096 */
  maxConnections: number;
  /**
   * Connections from one address whose TLS handshake is not finished (nobody authenticated yet);
   * more are closed at once. A load host making 500 new connections/s has ~3 pending; a
   * slowloris from 5 addresses × 900 filled all 4,096 places before this budget existed.
   * @default 64
   */
  maxHandshakesPerAddress: number;
  /**
   * Such unauthenticated connections in all. When full, a new connection is still admitted: the
   * oldest pending handshake of the address that has the most is closed to make room, so that
   * pending handshakes never take the places of authenticated clients nor shut new ones out.
   * @default 512
   */
  maxHandshakes: number;
  /**
   * A connection that has not finished its TLS handshake this long after it was accepted is
   * closed (slowloris). A handshake takes ~2 ms on loopback and 2-3 round trips on any network.
   * @default 5000
   */
  handshakeTimeoutMs: number;
  /** A connection with no call in progress for this long is closed (0: never). @default 300000 */
  idleTimeoutMs: number;
  /**
   * Bytes of answers waiting to be sent to one client that does not read them; above it the
   * connection is closed. ~25,000 answers: 12 s of the seed's 2,000/s, on top of the kernel's
   * socket buffers (several MB on loopback).
   * @default 4194304
   */
  maxBufferedBytes: number;
  /**
   * Resident memory in MiB above which df accepts no new connection (each is refused and
   * counted), serving the ones it has, until it is back under 90 % of it; 0: no bound. Deno's
   * TLS server keeps native memory of every connection it has seen (see df/README.md).
   * @default 0
   */
  maxRssMb: number;
}

/** The defaults (also the option table's defaults, in df/options.ts). */
export const DEFAULT_LIMITS: Readonly<DfLimits> = {
  maxStreams: 256,
  maxConnectionsPerAddress: 1024,
  maxConnections: 4096,
  maxHandshakesPerAddress: 64,
  maxHandshakes: 512,
  handshakeTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxRssMb: 0,
};

/** Why a connection was refused at accept, or `undefined` to admit it. */
export function admitConnection(
  open: { total: number; fromAddress: number; handshakesFromAddress?: number },
  limits: Pick<DfLimits, "maxConnections" | "maxConnectionsPerAddress"> & {
    maxHandshakesPerAddress?: number;
  },
): string | undefined {
  if (open.total >= limits.maxConnections) {
    return `limit reached: ${limits.maxConnections} connections open in all`;
  }
  if (open.fromAddress >= limits.maxConnectionsPerAddress) {
    return `limit reached: ${limits.maxConnectionsPerAddress} connections open from this address`;
  }
  const pending = limits.maxHandshakesPerAddress;
  if (pending !== undefined && (open.handshakesFromAddress ?? 0) >= pending) {
    return `limit reached: ${pending} unfinished handshakes from this address`;
  }
  return undefined;
}

/**
 * When the budget of unfinished handshakes is full: the address whose oldest pending handshake
 * is closed to make room, the one with the most pending (the first of them on a tie).
 */
export function handshakeToEvict(
  pendingByAddress: ReadonlyMap<string, number>,
): string | undefined {
  let most: string | undefined;
  let n = 0;
  for (const [address, count] of pendingByAddress) {
    if (count > n) [most, n] = [address, count];
  }
  return most;
}

/** What df knows about one connection when it checks it. */
export interface ConnectionState {
  /** `performance.now()` when it was accepted. */
  acceptedAt: number;
  /** The TLS handshake finished (always true in insecure mode). */
  secure: boolean;
  /** Bytes received so far on the TCP connection. */
  bytesRead: number;
  /** Calls in progress (streams open). */
  active: number;
  /** `performance.now()` when the last call ended, or the handshake finished. */
  lastActive: number;
  /** Bytes written by df and not yet taken by the kernel. */
  buffered: number;
}

/** Why df closes a connection now, or `undefined` to leave it open. */
export function connectionVerdict(
  c: ConnectionState,
  now: number,
  limits: Pick<DfLimits, "handshakeTimeoutMs" | "idleTimeoutMs" | "maxBufferedBytes">,
): string | undefined {
  if (!c.secure) {
    if (now - c.acceptedAt < limits.handshakeTimeoutMs) return undefined;
    const s = formatSeconds(limits.handshakeTimeoutMs);
    return c.bytesRead === 0
      ? `no handshake started within ${s}`
      : `handshake timed out (not finished within ${s})`;
  }
  if (c.buffered > limits.maxBufferedBytes) {
    return `the client does not read its answers (over ${
      formatBytes(limits.maxBufferedBytes)
    } unsent)`;
  }
  if (limits.idleTimeoutMs > 0 && c.active === 0 && now - c.lastActive >= limits.idleTimeoutMs) {
    return `idle for ${formatSeconds(limits.idleTimeoutMs)}`;
  }
  return undefined;
}

/** `10000` -> `"10 s"`, `250` -> `"0.25 s"`. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** `4194304` -> `"4 MiB"`, `1536` -> `"1.5 KiB"`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / 1024 / 1024).toFixed(1))} MiB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KiB`;
  return `${n} B`;
}
