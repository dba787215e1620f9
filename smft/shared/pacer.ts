/**
 * Pacing on the thread that owns the connection: callbacks run at `performance.now()` instants,
 * never early, and no other thread wakes this one.
 *
 * Deno's own timer cannot do it alone: `setTimeout` takes whole milliseconds and ends 1–2.2 ms
 * after them (its wheel has 1 ms ticks, and the thread wakes when its last sleep's whole-ms
 * timeout ends), so a send due in 0.4 ms cannot be made by sleeping. Nor by blocking: the
 * event loop reads sockets only every ~61 turns (tokio's event interval), so a turn must be
 * short; a busy-wait of 10 µs per turn already delays responses by ~0.3 ms. Two modes:
 *
 * - `spin`: the thread never sleeps. It turns its event loop without blocking (`setImmediate`,
 *   ~1–2 µs a turn) and runs what is due in the first turn at or after its instant. A core per
 *   connection, no wake-ups, responses read within ~0.1 ms.
 * - `timer`: sleeps on Deno's timer while the next instant is far enough away, waking early by
 *   its own lateness (learned as it runs), and spins the rest. With less than ~3.5 ms between
 *   instants (above ~300 calls/s on one connection) it never sleeps: it is `spin`.
 *
 * What the thread does next is a pure function, {@link nextWait}; {@link Pacer} carries it out
 * through a {@link PacerHost} (Deno's timers in a run, a fake clock in tests).
 *
 * @module
 */
import { clearTimeout, setImmediate, setTimeout } from "node:timers";

/** The pacing modes, as `--pacing` takes them. */
export const PACING_MODES = ["spin", "timer"] as const;

/** How the owning thread waits for the next due instant. */
export type PacingMode = typeof PACING_MODES[number];

/** The pacing of a run in words, for its summary (pure). */
export function describePacing(mode: PacingMode, connections = 1): string {
  const threads = connections > 1
    ? `each of the ${connections} connections' threads`
    : "smft's thread";
  return mode === "spin"
    ? `Pacing: spin (${threads} never sleeps: ${
      connections > 1 ? `${connections} cores` : "a core"
    } busy, sends and reads at once)`
    : `Pacing: timer (${threads} sleeps on Deno's timer when the next send is over ~3.5 ms away, spins the rest)`;
}

/** What the owning thread does next (see {@link nextWait}). */
export type Wait =
  /** Something is due: run it now. */
  | { kind: "run" }
  /** Sleep on Deno's timer for these whole milliseconds, then look again. */
  | { kind: "sleep"; ms: number }
  /** Turn the event loop once without sleeping, then look again. */
  | { kind: "spin" }
  /** Nothing is pending. */
  | { kind: "idle" };

/**
 * How late a sleep may end before any has been measured, ms: a whole-ms sleep has been seen to
 * end up to ~2.2 ms after its request with sockets busy (1 ms tick + the 1.1 ms Deno adds).
 */
export const INITIAL_LEAD_MS = 2.3;

/**
 * The pacing decision (pure): given the mode, now, the next due instant and how late a sleep on
 * Deno's timer may end (`leadMs`), what to do until it.
 *
 * @example
 * ```ts
 * nextWait("timer", 0, 10, 2.3); // { kind: "sleep", ms: 7 }: ends by 9.3, spins the rest
 * nextWait("timer", 0, 3, 2.3); // { kind: "spin" }
 * nextWait("spin", 0, 10, 2.3); // { kind: "spin" }
 * ```
 */
export function nextWait(
  mode: PacingMode,
  now: number,
  due: number | undefined,
  leadMs: number,
): Wait {
  if (due === undefined) return IDLE;
  if (due <= now) return RUN;
  if (mode === "spin") return SPIN;
  // setTimeout truncates to whole ms and fires at least 1 ms after; end no later than `due`.
  const ms = Math.floor(due - now - leadMs);
  return ms >= 1 ? { kind: "sleep", ms } : SPIN;
}

// The waits without a figure are constants: a spinning thread decides ~800,000 times a second.
const IDLE: Wait = { kind: "idle" }, RUN: Wait = { kind: "run" }, SPIN: Wait = { kind: "spin" };

/**
 * How late this thread's sleeps end past their request, learned from the sleeps it made: the
 * 99th percentile of the last {@link SleepLateness.WINDOW} overshoots plus a margin, so that a
 * sleep ends before its due instant 99 times in 100. Until 50 are known, {@link INITIAL_LEAD_MS}.
 */
export class SleepLateness {
  static readonly WINDOW = 200;
  static readonly MARGIN_MS = 0.05;
  #ring = new Float64Array(SleepLateness.WINDOW);
  #n = 0;
  #lead = INITIAL_LEAD_MS;

  /** Records a sleep of `requestedMs` that ended `elapsedMs` after it began. */
  record(requestedMs: number, elapsedMs: number): void {
    this.#ring[this.#n++ % SleepLateness.WINDOW] = elapsedMs - requestedMs;
    // Re-derived every 50 sleeps (a sort of at most 200 numbers).
    if (this.#n % 50 === 0) {
      const xs = this.#ring.slice(0, Math.min(this.#n, SleepLateness.WINDOW)).sort();
      const p99 = xs[Math.ceil(xs.length * 0.99) - 1];
      this.#lead = Math.max(0, p99) + SleepLateness.MARGIN_MS;
    }
  }

  /** How early to end a sleep, ms. */
  get leadMs(): number {
    return this.#lead;
  }

  /** Sleeps recorded. */
  get samples(): number {
    return this.#n;
  }
}

/** The thread's clock and event loop, as the pacer uses them. */
export interface PacerHost {
  now(): number;
  /** Runs `cb` after a sleep of `ms` whole milliseconds; the handle cancels it. */
  sleep(ms: number, cb: () => void): unknown;
  cancel(handle: unknown): void;
  /** Runs `cb` in the next turn of the event loop, without sleeping. */
  turn(cb: () => void): void;
}

/** Deno's: `setTimeout` to sleep, `setImmediate` to turn. */
export const DENO_HOST: PacerHost = {
  now: () => performance.now(),
  sleep: (ms, cb) => setTimeout(cb, ms),
  cancel: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  turn: (cb) => void setImmediate(cb),
};

interface Entry {
  due: number;
  seq: number;
  cb: () => void;
}

/** Min-heap of entries by due time, then insertion order (FIFO among equal due times). */
class Heap {
  #a: Entry[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): Entry | undefined {
    return this.#a[0];
  }
  push(e: Entry): void {
    const a = this.#a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): Entry | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(x: Entry, y: Entry): boolean {
  return x.due < y.due || (x.due === y.due && x.seq < y.seq);
}

/** What the pacer did, for measurement. */
export interface PacerStats {
  /** Sleeps on Deno's timer (each one wake-up of this thread). */
  sleeps: number;
  /** Turns of the event loop made without sleeping. */
  spins: number;
  /** Callbacks run. */
  runs: number;
}

/**
 * Runs callbacks at their due instants on this thread (see the module's description).
 *
 * @example
 * ```ts
 * const pacer = new Pacer("spin");
 * pacer.at(performance.now() + 0.5, () => send());
 * ```
 */
export class Pacer {
  readonly mode: PacingMode;
  readonly stats: PacerStats = { sleeps: 0, spins: 0, runs: 0 };
  readonly lateness: SleepLateness = new SleepLateness();
  #host: PacerHost;
  #heap = new Heap();
  #seq = 0;
  /** What is armed: nothing, one turn or one sleep; or callbacks are running (re-armed after). */
  #state: "idle" | "turn" | "sleep" | "running" = "idle";
  #sleep: { handle: unknown; from: number; ms: number } | undefined;
  #closed = false;

  constructor(mode: PacingMode, host: PacerHost = DENO_HOST) {
    this.mode = mode;
    this.#host = host;
  }

  /** Now, on the clock due instants are written in. */
  now(): number {
    return this.#host.now();
  }

  /** Callbacks waiting. */
  get pending(): number {
    return this.#heap.size;
  }

  /** Runs `cb` at `due` (in the next turn if already past), never before it. */
  at(due: number, cb: () => void): void {
    if (this.#closed) throw new Error("Pacer is closed");
    this.#heap.push({ due, seq: this.#seq++, cb });
    if (this.#state === "idle") return this.#arm();
    // A sleep that may end after this entry's instant is cut short.
    const s = this.#sleep;
    if (this.#state === "sleep" && s && s.from + s.ms + this.lateness.leadMs > due) {
      this.#host.cancel(s.handle);
      this.#state = "idle";
      this.#arm();
    }
  }

  /** Stops; pending callbacks are dropped. */
  close(): void {
    this.#closed = true;
    if (this.#state === "sleep") this.#host.cancel(this.#sleep!.handle);
    this.#state = "idle";
  }

  #arm(): void {
    const host = this.#host;
    const now = host.now();
    const w = nextWait(this.mode, now, this.#heap.peek()?.due, this.lateness.leadMs);
    if (w.kind === "idle") return;
    if (w.kind === "sleep") {
      this.#state = "sleep";
      this.stats.sleeps++;
      this.#sleep = { handle: host.sleep(w.ms, this.#woke), from: now, ms: w.ms };
      return;
    }
    if (w.kind === "spin") this.stats.spins++;
    this.#state = "turn";
    host.turn(this.#turn);
  }

  #woke = (): void => {
    const s = this.#sleep!;
    this.#sleep = undefined;
    this.lateness.record(s.ms, this.#host.now() - s.from);
    this.#turn();
  };

  #turn = (): void => {
    if (this.#closed) return;
    this.#state = "running";
    const heap = this.#heap;
    const now = this.#host.now();
    // Entries added by these callbacks wait for the next turn, so a loop that re-schedules
    // itself "now" lets responses in between.
    const stopSeq = this.#seq;
    try {
      let head = heap.peek();
      while (head && head.due <= now && head.seq < stopSeq) {
        heap.pop();
        this.stats.runs++;
        head.cb();
        head = heap.peek();
      }
    } finally {
      // Re-armed even when a callback threw, so later entries are not stranded.
      this.#state = "idle";
      if (!this.#closed) this.#arm();
    }
  };
}
