/**
 * Pacing on the thread that owns the connection: callbacks run on it at `performance.now()`
 * instants, never early. No other thread sends or reads for it; under `wake` one only wakes it.
 *
 * Deno's own timer cannot do it alone: `setTimeout` takes whole milliseconds and ends 1–2.2 ms
 * after them (its wheel has 1 ms ticks, and the thread wakes when its last sleep's whole-ms
 * timeout ends), so a send due in 0.4 ms cannot be made by sleeping. Nor by blocking: the
 * event loop reads sockets only every ~61 turns (tokio's event interval), so a turn must be
 * short; a busy-wait of 10 µs per turn already delays responses by ~0.3 ms. Three modes:
 *
 * - `wake` (the default): the thread waits in its event loop's poll, reading sockets at once,
 *   and another thread that sleeps in `Atomics.wait` wakes it at the instant (`alarm.ts`,
 *   which learns to wake it early by the wake-up's own delivery time): late p50 ~0.00 ms, p99
 *   ~0.15–0.3 ms, ~40 µs of CPU per wake-up, no spinning, no garbage per turn. Callbacks due by
 *   then run in that one wake-up.
 * - `spin`: the thread does not sleep while a send is near. It turns its event loop without
 *   blocking (`setImmediate`, ~1–2 µs a turn) and runs what is due in the first turn at or after
 *   its instant. A core per connection, no wake-ups, responses read within ~0.1 ms.
 * - `timer`: sleeps on Deno's timer while the next instant is far enough away, waking early by
 *   its own lateness (learned as it runs), and spins the rest. With less than ~3.5 ms between
 *   instants (above ~300 calls/s on one connection) it never sleeps: it is `spin`.
 *
 * `spin` still sleeps while nothing is due for more than {@link SPIN_AHEAD_MS} (a coldconn run at
 * 1/s must not keep a core busy between attempts); it spins only the last stretch.
 *
 * The thread knows when it could not read: a {@link BusyLog} hears every interval in which it
 * was not waiting in the event loop's poll (from one turn to the next, and the part of a sleep
 * that ended later than Deno's timer usually does). smft turns those into the read side of the
 * generator's own delay (`smft/own_delay.ts`).
 *
 * What the thread does next is a pure function, {@link nextWait}; {@link Pacer} carries it out
 * through a {@link PacerHost} (Deno's timers in a run, a fake clock in tests).
 *
 * @module
 */
import { clearTimeout, setImmediate, setTimeout } from "node:timers";
import { type Alarm, WorkerAlarm } from "./alarm.ts";

/** The pacing modes, as `--pacing` takes them. */
export const PACING_MODES = ["wake", "spin", "timer"] as const;

/** How the owning thread waits for the next due instant. */
export type PacingMode = typeof PACING_MODES[number];

/** smft's and df's pacing unless told otherwise (chosen by `deno task bench`'s figures). */
export const DEFAULT_PACING: PacingMode = "wake";

/** The pacing of a run in words, for its summary (pure). */
export function describePacing(mode: PacingMode, connections = 1): string {
  const threads = connections > 1
    ? `each of the ${connections} connections' threads`
    : "smft's thread";
  if (mode === "wake") {
    return `Pacing: wake (${threads} waits in its poll, reading at once; a sleeping alarm thread wakes it at each send, ~0.1 ms late)`;
  }
  return mode === "spin"
    ? `Pacing: spin (${threads} spins whenever a send is due within ~${SPIN_AHEAD_MS} ms: ${
      connections > 1 ? `${connections} cores` : "a core"
    } busy at rates above ~100/s, sends and reads at once)`
    : `Pacing: timer (${threads} sleeps on Deno's timer when the next send is over ~3.5 ms away, spins the rest)`;
}

/** What the owning thread does next (see {@link nextWait}). */
export type Wait =
  /** Something is due: run it now. */
  | { kind: "run" }
  /** Sleep on Deno's timer for these whole milliseconds, then look again. */
  | { kind: "sleep"; ms: number }
  /** Wait in the poll until the alarm thread wakes this one at the due instant. */
  | { kind: "alarm" }
  /** Turn the event loop once without sleeping, then look again. */
  | { kind: "spin" }
  /** Nothing is pending. */
  | { kind: "idle" };

/**
 * `spin` sleeps while its next instant is further away than this (plus a sleep's lateness): a
 * thread that spins only when a send is near costs no core between sparse sends.
 */
export const SPIN_AHEAD_MS = 10;

/**
 * How late a sleep may end before any has been measured, ms: a whole-ms sleep has been seen to
 * end up to ~2.2 ms after its request with sockets busy (1 ms tick + the 1.1 ms Deno adds).
 */
export const INITIAL_LEAD_MS = 2.3;

/** How late a sleep usually ends before any has been measured, ms (Deno's timer: ~1.1 ms). */
const INITIAL_TYPICAL_MS = 1.1;

/** How late the alarm (`wake`) usually is before any has been measured, ms. */
const INITIAL_ALARM_TYPICAL_MS = 0.1;

/**
 * Hears the intervals in which the pacer's thread could not read a socket: a turn of its event
 * loop to the next (callbacks, GC, the OS taking the core), and a sleep's end later than usual.
 */
export interface BusyLog {
  busy(ms: number): void;
}

/**
 * The pacing decision (pure): given the mode, now, the next due instant and how late a sleep on
 * Deno's timer may end (`leadMs`), what to do until it.
 *
 * @example
 * ```ts
 * nextWait("timer", 0, 10, 2.3); // { kind: "sleep", ms: 7 }: ends by 9.3, spins the rest
 * nextWait("timer", 0, 3, 2.3); // { kind: "spin" }
 * nextWait("spin", 0, 10, 2.3); // { kind: "spin" }
 * nextWait("spin", 0, 1000, 2.3); // { kind: "sleep", ms: 987 }: spins its last ~13 ms
 * nextWait("wake", 0, 0.4, 2.3); // { kind: "alarm" }
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
  if (mode === "wake") return ALARM;
  // setTimeout truncates to whole ms and fires at least 1 ms after; end no later than `due`.
  const ms = Math.floor(due - now - leadMs - (mode === "spin" ? SPIN_AHEAD_MS : 0));
  return ms >= 1 ? { kind: "sleep", ms } : SPIN;
}

// The waits without a figure are constants: a spinning thread decides ~800,000 times a second.
const IDLE: Wait = { kind: "idle" }, RUN: Wait = { kind: "run" }, SPIN: Wait = { kind: "spin" };
const ALARM: Wait = { kind: "alarm" };

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
  #typical: number;

  /** `typicalMs`: the usual lateness until 50 are known. */
  constructor(typicalMs = INITIAL_TYPICAL_MS) {
    this.#typical = typicalMs;
  }

  /** Records a sleep of `requestedMs` that ended `elapsedMs` after it began. */
  record(requestedMs: number, elapsedMs: number): void {
    this.#ring[this.#n++ % SleepLateness.WINDOW] = elapsedMs - requestedMs;
    // Re-derived every 50 sleeps (a sort of at most 200 numbers).
    if (this.#n % 50 === 0) {
      const xs = this.#ring.slice(0, Math.min(this.#n, SleepLateness.WINDOW)).sort();
      const p99 = xs[Math.ceil(xs.length * 0.99) - 1];
      this.#lead = Math.max(0, p99) + SleepLateness.MARGIN_MS;
      this.#typical = Math.max(0, xs[Math.ceil(xs.length * 0.5) - 1]);
    }
  }

  /**
   * How late a sleep usually ends (the median), ms: the thread waits in the event loop's poll
   * meanwhile, so it reads at once; only lateness beyond it may be the thread being busy.
   */
  get typicalMs(): number {
    return this.#typical;
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
  /** A precise alarm for `wake` (made once, on a pacer's first wait). */
  alarm(): Alarm;
}

/** Deno's: `setTimeout` to sleep, `setImmediate` to turn, an alarm thread to wake. */
const DENO_HOST: PacerHost = {
  now: () => performance.now(),
  sleep: (ms, cb) => setTimeout(cb, ms),
  cancel: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  turn: (cb) => void setImmediate(cb),
  alarm: () => new WorkerAlarm(),
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
  /** Sleeps on Deno's timer or the alarm (each one wake-up of this thread). */
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
  readonly lateness: SleepLateness;
  #host: PacerHost;
  #heap = new Heap();
  #seq = 0;
  /** What is armed: nothing, one turn or one sleep; or callbacks are running (re-armed after). */
  #state: "idle" | "turn" | "sleep" | "running" = "idle";
  #sleep: { handle: unknown; from: number; ms: number } | undefined;
  /** `wake`'s alarm, made on the first wait. */
  #alarm: Alarm | undefined;
  #closed = false;
  /** Since when the thread has not been waiting in the poll (NaN: it is, or nothing is armed). */
  #busySince = NaN;
  /** Where busy intervals go (smft's read-side measure); none: not measured. */
  #busyLog: BusyLog | undefined;

  constructor(mode: PacingMode, host: PacerHost = DENO_HOST) {
    this.mode = mode;
    this.#host = host;
    this.lateness = new SleepLateness(
      mode === "wake" ? INITIAL_ALARM_TYPICAL_MS : INITIAL_TYPICAL_MS,
    );
  }

  /** Sends every interval in which the thread could not read to `log` (undefined: stops). */
  listenBusy(log: BusyLog | undefined): void {
    this.#busyLog = log;
  }

  /**
   * Settles when the pacer can keep its instants: `wake`'s alarm thread has started (await it
   * before a schedule's first instant; the other modes are ready at once).
   */
  ready(): Promise<void> {
    if (this.mode !== "wake") return Promise.resolve();
    return (this.#alarm ??= this.#host.alarm()).ready;
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
    if (this.#state === "idle") {
      // Armed from a callback of the event loop: the thread is busy from here.
      if (Number.isNaN(this.#busySince)) this.#busySince = this.#host.now();
      return this.#arm();
    }
    // A sleep that may end after this entry's instant is cut short.
    const s = this.#sleep;
    const lead = this.mode === "wake" ? 0 : this.lateness.leadMs;
    if (this.#state === "sleep" && s && s.from + s.ms + lead > due) {
      this.#cancelSleep();
      if (Number.isNaN(this.#busySince)) this.#busySince = this.#host.now();
      this.#state = "idle";
      this.#arm();
    }
  }

  /** Stops; pending callbacks are dropped. */
  close(): void {
    this.#closed = true;
    if (this.#state === "sleep") this.#cancelSleep();
    this.#alarm?.close();
    this.#state = "idle";
  }

  #cancelSleep(): void {
    if (this.mode === "wake") this.#alarm?.clear();
    else this.#host.cancel(this.#sleep!.handle);
    this.#sleep = undefined;
  }

  #arm(): void {
    const host = this.#host;
    const now = host.now();
    const due = this.#heap.peek()?.due;
    const w = nextWait(this.mode, now, due, this.lateness.leadMs);
    if (w.kind === "idle" || w.kind === "sleep" || w.kind === "alarm") {
      // Into the poll: reads are prompt until the thread wakes.
      this.#endBusy(now);
      if (w.kind === "idle") return;
      this.#state = "sleep";
      this.stats.sleeps++;
      if (w.kind === "sleep") {
        this.#sleep = { handle: host.sleep(w.ms, this.#woke), from: now, ms: w.ms };
      } else {
        // The alarm's lateness is learned as a sleep's is: past the instant is past `ms`.
        this.#sleep = { handle: undefined, from: now, ms: due! - now };
        (this.#alarm ??= host.alarm()).set(due!, this.#woke);
      }
      return;
    }
    if (w.kind === "spin") this.stats.spins++;
    this.#state = "turn";
    host.turn(this.#turn);
  }

  #endBusy(now: number): void {
    const ms = now - this.#busySince;
    if (ms > 0) this.#busyLog?.busy(ms);
    this.#busySince = NaN;
  }

  #woke = (): void => {
    const s = this.#sleep!;
    this.#sleep = undefined;
    const now = this.#host.now();
    const elapsed = now - s.from;
    // Lateness beyond the usual may be this thread busy (or off its core) instead of polling.
    this.#busySince = now - Math.max(0, elapsed - s.ms - this.lateness.typicalMs);
    this.lateness.record(s.ms, elapsed);
    this.#turn();
  };

  #turn = (): void => {
    if (this.#closed) return;
    this.#state = "running";
    const heap = this.#heap;
    const now = this.#host.now();
    // One turn to the next: callbacks, I/O, GC or the OS kept the thread from the poll.
    this.#endBusy(now);
    this.#busySince = now;
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
