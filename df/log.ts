/**
 * Connection log lines that stay readable under abuse: the first event of a cause in an
 * interval is written at once, with its peer; further events of that cause in the same interval
 * are counted and written as one line, with the count and the addresses they came from, when the
 * interval ends. Pure: the clock and the output are injected.
 *
 * @module
 */

/** A connection event worth a log line. */
export interface ConnEvent {
  /** `refused`: the handshake was not completed; `closed`: df closed an established one. */
  kind: "refused" | "closed";
  /** `ip:port` (IPv6 in brackets). */
  peer: string;
  cause: string;
}

interface Bucket {
  kind: ConnEvent["kind"];
  cause: string;
  /** Events after the first, this interval. */
  more: number;
  /** Count by address of those events. */
  addresses: Map<string, number>;
}

/** How many addresses a collapsed line names before "and N more". */
const MAX_ADDRESSES = 3;

/** Collapses repeated causes into one line per cause per interval. */
export class CauseLog {
  #buckets = new Map<string, Bucket>();
  #totals = new Map<string, number>();
  #emit: (line: string) => void;
  #intervalMs: number;
  #started: number;

  /** `emit` receives finished lines (no trailing newline); `now` is in ms. */
  constructor(o: { intervalMs: number; emit: (line: string) => void; now: number }) {
    this.#emit = o.emit;
    this.#intervalMs = o.intervalMs;
    this.#started = o.now;
  }

  /** Records one event at `now`; writes a line if it is the first of its cause this interval. */
  record(e: ConnEvent, now: number): void {
    this.tick(now);
    const key = `${e.kind}\0${e.cause}`;
    this.#totals.set(key, (this.#totals.get(key) ?? 0) + 1);
    const b = this.#buckets.get(key);
    if (!b) {
      this.#buckets.set(key, { kind: e.kind, cause: e.cause, more: 0, addresses: new Map() });
      this.#emit(`df: ${e.kind} ${e.peer}: ${e.cause}`);
      return;
    }
    b.more++;
    const addr = addressOf(e.peer);
    b.addresses.set(addr, (b.addresses.get(addr) ?? 0) + 1);
  }

  /** Ends the interval if it is over: writes one line per cause that repeated. */
  tick(now: number): void {
    if (now - this.#started < this.#intervalMs) return;
    this.flush(now);
  }

  /** Writes the pending counts now and starts a new interval. */
  flush(now: number): void {
    const seconds = Number(((now - this.#started) / 1000).toFixed(1));
    for (const b of this.#buckets.values()) {
      if (b.more === 0) continue;
      const addrs = [...b.addresses.entries()].sort((x, y) => y[1] - x[1]);
      const named = addrs.slice(0, MAX_ADDRESSES).map(([a, n]) => `${a} ×${n}`).join(", ");
      const rest = addrs.length > MAX_ADDRESSES
        ? ` and ${addrs.length - MAX_ADDRESSES} more addresses`
        : "";
      this.#emit(
        `df: ${b.kind} ${b.more} more in the last ${seconds} s: ${b.cause} (from ${named}${rest})`,
      );
    }
    this.#buckets.clear();
    this.#started = now;
  }

  /** Events so far by kind and cause, most frequent first. */
  totals(): { kind: ConnEvent["kind"]; cause: string; count: number }[] {
    return [...this.#totals.entries()]
      .map(([key, count]) => {
        const [kind, cause] = key.split("\0");
        return { kind: kind as ConnEvent["kind"], cause, count };
      })
      .sort((a, b) => b.count - a.count);
  }
}

/** `127.0.0.1:5000` -> `127.0.0.1`, `[::1]:5000` -> `[::1]`. */
export function addressOf(peer: string): string {
  const i = peer.lastIndexOf(":");
  return i > 0 && !peer.endsWith("]") ? peer.slice(0, i) : peer;
}
