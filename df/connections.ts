/**
 * The connections df has accepted: admitting each one against its limits (df/limits.ts),
 * tracking its handshake and its streams, and closing it for a cause, counted and reported once.
 *
 * @module
 */
import type * as net from "node:net";
import type * as tls from "node:tls";
import { admitConnection, connectionVerdict, type DfLimits, handshakeToEvict } from "./limits.ts";
import type { DfEvent, DfStats } from "./stats.ts";

/** One accepted TCP connection, as df tracks it. */
export interface Conn {
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

/** `address:port`, with an IPv6 address in brackets, as df's log lines name a peer. */
export function peerOf(address: string | undefined, port: number | undefined): string {
  const a = address ?? "?";
  return `${a.includes(":") ? `[${a}]` : a}:${port ?? "?"}`;
}

/** `remoteAddress:remotePort`, the form grpc-js's `getPeer()` returns. */
export function keyOf(address: string | undefined, port: number | undefined): string {
  return `${address}:${port}`;
}

/** Every connection df has accepted, and what it decides about them. */
export class Connections {
  /** Open connections by {@link keyOf}. */
  readonly #conns = new Map<string, Conn>();
  readonly #openByAddress = new Map<string, number>();
  // Unfinished handshakes by address, oldest first: their own budget (df/limits.ts).
  readonly #pendingByAddress = new Map<string, Set<Conn>>();
  #pendingTotal = 0;

  constructor(
    readonly stats: DfStats,
    readonly limits: DfLimits,
    /** TLS (a handshake to finish) or insecure. */
    readonly handshakes: boolean,
    readonly onEvent?: (e: DfEvent) => void,
  ) {}

  /** The connection at `key` ({@link keyOf}), open or closed less than a second ago. */
  get(key: string): Conn | undefined {
    return this.#conns.get(key);
  }

  /** The connection whose TCP socket is `raw`. */
  withSocket(raw: net.Socket): Conn | undefined {
    return [...this.#conns.values()].find((x) => x.raw === raw);
  }

  /** Whether the connection of grpc-js's peer `peer` is gone (closed, by either side). */
  gone(peer: string): boolean {
    const conn = this.#conns.get(peer);
    return !conn || conn.raw.destroyed || conn.closedCause !== undefined ||
      conn.tls?.destroyed === true;
  }

  /** Whether a stream is open or bytes are not yet handed to the kernel on any connection. */
  busy(): boolean {
    return [...this.#conns.values()].some((c) =>
      c.active > 0 || (c.tls?.writableLength ?? 0) > 0 || c.raw.writableLength > 0
    );
  }

  /** Takes `c` off the unfinished handshakes. */
  settlePending(c: Conn): void {
    if (!c.pending) return;
    c.pending = false;
    this.#pendingTotal--;
    const set = this.#pendingByAddress.get(c.address);
    set?.delete(c);
    if (set?.size === 0) this.#pendingByAddress.delete(c.address);
  }

  /** Counts and reports a refused connection. */
  refuse(c: { peer: string }, reason: string): void {
    this.stats.handshakesRefused++;
    this.stats.refusedByReason[reason] = (this.stats.refusedByReason[reason] ?? 0) + 1;
    this.onEvent?.({ type: "refused", peer: c.peer, reason });
  }

  /** Closes a connection for `reason`, counted and reported once. */
  closeFor(c: Conn, reason: string): void {
    if (c.closedCause) return;
    c.closedCause = reason;
    c.reported = true;
    if (!c.secure) {
      this.refuse(c, reason);
    } else {
      this.stats.closedByReason[reason] = (this.stats.closedByReason[reason] ?? 0) + 1;
      this.onEvent?.({ type: "closed", peer: c.peer, reason });
    }
    c.tls?.destroy();
    c.raw.destroy();
  }

  /**
   * Admits a new TCP connection and tracks it, or refuses it (a limit, or `overMemory`: resident
   * memory over --max-rss-mb) and destroys it. Returns whether it was admitted.
   */
  accept(socket: net.Socket, overMemory: boolean): boolean {
    const limits = this.limits;
    const address = socket.remoteAddress ?? "?";
    const peer = peerOf(socket.remoteAddress, socket.remotePort);
    socket.on("error", () => {/* reported through tlsClientError or the session */});
    const refusal = overMemory
      ? `memory bound: resident memory over --max-rss-mb ${limits.maxRssMb} MiB`
      : admitConnection(
        {
          total: this.#conns.size,
          fromAddress: this.#openByAddress.get(address) ?? 0,
          handshakesFromAddress: this.#pendingByAddress.get(address)?.size ?? 0,
        },
        limits,
      );
    if (refusal) {
      this.refuse({ peer }, refusal);
      socket.destroy();
      return false;
    }
    if (this.handshakes && this.#pendingTotal >= limits.maxHandshakes) this.#evictHandshake();
    this.#track(socket, address, peer);
    return true;
  }

  /** The budget of unfinished handshakes is full: the busiest address gives up its oldest. */
  #evictHandshake(): void {
    const from = handshakeToEvict(
      new Map([...this.#pendingByAddress].map(([a, set]) => [a, set.size])),
    );
    const oldest = from === undefined
      ? undefined
      : this.#pendingByAddress.get(from)?.values().next();
    if (oldest && !oldest.done) {
      const victim = oldest.value;
      this.settlePending(victim);
      this.closeFor(
        victim,
        `limit reached: ${this.limits.maxHandshakes} unfinished handshakes in all (the oldest of ` +
          `the address with the most was closed to make room)`,
      );
    }
  }

  #track(socket: net.Socket, address: string, peer: string): void {
    const stats = this.stats;
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
      secure: !this.handshakes,
      active: 0,
      lastActive: now,
      reported: false,
      pending: this.handshakes,
    };
    const key = keyOf(socket.remoteAddress, socket.remotePort);
    this.#conns.set(key, c);
    if (c.pending) {
      this.#pendingTotal++;
      const set = this.#pendingByAddress.get(address) ?? new Set<Conn>();
      set.add(c);
      this.#pendingByAddress.set(address, set);
    }
    const openByAddress = this.#openByAddress;
    openByAddress.set(address, (openByAddress.get(address) ?? 0) + 1);
    socket.once("close", () => {
      this.settlePending(c);
      stats.connectionsOpen--;
      // The TLS layer reports a refused handshake when its socket closes: look the connection
      // up a little later.
      setTimeout(() => this.#conns.delete(key), 1000);
      const n = (openByAddress.get(address) ?? 1) - 1;
      if (n > 0) openByAddress.set(address, n);
      else openByAddress.delete(address);
    });
  }

  /** Closes every connection over a time or buffer limit at `now` (df/limits.ts). */
  sweep(now: number): void {
    for (const c of this.#conns.values()) {
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
        this.limits,
      );
      if (verdict) this.closeFor(c, verdict);
    }
  }

  /** Destroys every connection's socket (the end of shutdown). */
  destroyAll(): void {
    for (const c of this.#conns.values()) c.raw.destroy();
  }
}
