/**
 * A timer that fires within tens of microseconds of its due time, with one wake-up of the timer
 * thread per firing and no `Atomics.notify` from the owning thread in steady state.
 *
 * API: `new PreciseTimer(opts)`, `ready()`, `at(due, cb)`, `close()`, `pending`, `now()`, and
 * the counters `stats` and `workerWakeups` (wake-ups are what precision costs: see below).
 *
 * Why: the previous design re-armed the worker once per firing (`Atomics.notify` on the owning
 * thread, a futex wake, then the worker woke up only to go back to sleep until the new due
 * time): three wake-ups per call (worker twice, owner once), three futex calls. Here:
 *
 * - After posting a firing for due time F, the worker does not wait to be told the next due
 *   time: it *predicts* it as F + (F − previous F), the cadence of an open-loop schedule or of a
 *   hold whose due times only increase, and sleeps (`Atomics.wait` with a timeout) until shortly
 *   before it. It publishes what it sleeps until (`wakeAt`) and that it is asleep (`state`).
 * - The owning thread, re-arming for due time D, writes D and bumps a generation counter (an
 *   atomic add, no system call), and calls `Atomics.notify` only when the worker sleeps without
 *   a timeout, or until later than D needs. A correct prediction costs no notify and no extra
 *   wake-up: the worker's timed wait ends, it reads D, spins the last stretch and posts.
 * - A wait that would be shorter than the spin stretch is spun, not slept.
 * - Disarming never notifies: the worker wakes once at its predicted time, finds nothing, and
 *   sleeps without a timeout.
 * - On the owning thread, callbacks due within `batchMs` of now run in the same turn (the owner
 *   spins the remainder), so calls due close together cost one wake-up.
 *
 * The generation counter makes it race-free: the worker reads the generation before the due
 * time and waits on that generation, so a re-arm that lands between the two makes its wait
 * return at once.
 *
 * @module
 */

/** Worker source, inlined so that compiled binaries need no extra file. */
const WORKER_SOURCE = `
let i32, f64, lead, spin, maxPredict;
const IDLE = 0, TIMED = 1, AWAKE = 2;
self.onmessage = (e) => {
  i32 = new Int32Array(e.data.sab, 0, 4); // [0] gen, [1] state, [2] wakeups (stats), [3] closed
  f64 = new Float64Array(e.data.sab, 16, 2); // [0] target (owner clock), [1] wakeAt (owner clock)
  lead = e.data.leadMs; spin = e.data.spinMs; maxPredict = e.data.maxPredictMs;
  const offset = e.data.timeOrigin - performance.timeOrigin; // owner clock -> worker clock
  self.postMessage(1);
  let fired = -Infinity, firedGen = -1, interval = 0;
  for (;;) {
    const g = Atomics.load(i32, 0);
    // Closed has its own slot: the generation counts up and may wrap past zero.
    if (Atomics.load(i32, 3) === 1) break;
    const t = f64[0];
    let until; // owner-clock instant to fire at, or to wake up at (prediction)
    let fire = false;
    if (t !== 0 && g !== firedGen) { until = t; fire = true; } // armed since the last firing
    else if (interval > 0 && fired + interval > performance.now() - offset) {
      until = fired + interval; // predicted next due time: sleep to just before it, then look
    } else {
      Atomics.store(i32, 1, IDLE);
      Atomics.wait(i32, 0, g);
      Atomics.store(i32, 1, AWAKE);
      Atomics.add(i32, 2, 1);
      interval = 0;
      continue;
    }
    const fireAt = until + offset - lead;
    const sleep = fireAt - spin - performance.now();
    if (sleep > 0) {
      f64[1] = until;
      Atomics.store(i32, 1, TIMED);
      const r = Atomics.wait(i32, 0, g, sleep);
      Atomics.store(i32, 1, AWAKE);
      if (r !== "not-equal") Atomics.add(i32, 2, 1);
      if (!fire && r === "timed-out") {
        // The prediction's time came and nothing new is due: stop predicting.
        if (Atomics.load(i32, 0) === g) interval = 0;
      }
      continue;
    }
    if (!fire) continue; // prediction within the spin stretch: look again (target will come)
    while (performance.now() < fireAt && Atomics.load(i32, 0) === g) { /* last stretch */ }
    if (Atomics.load(i32, 0) !== g) continue; // re-armed meanwhile: look again
    if (fired > -Infinity && t - fired < maxPredict) interval = t - fired;
    else interval = 0;
    fired = t;
    firedGen = g;
    self.postMessage(0);
  }
  self.close();
};
`;

/**
 * smft's pacing: a 0.05 ms spin instead of 0.12 halves the timer thread's CPU per call (87 → 36
 * µs at 1000/s) with lag p50 still ~0.05 ms (measured interleaved against the 0.12 ms spin,
 * 3 rounds, smft/README.md "Performance"). df's hold uses the same spin (df/hold.ts).
 */
export const SMFT_TIMER: PreciseTimerOptions = { spinMs: 0.05 };

/** Tuning (see smft/README.md, "precise timer"). */
export interface PreciseTimerOptions {
  /** Post the wake-up this early, to cover message delivery to the owning thread. @default 0.04 */
  leadMs?: number;
  /** Spin (instead of sleeping) for this last stretch before firing. @default 0.12 */
  spinMs?: number;
  /** Callbacks due within this much of now run at once (early); later ones re-arm. @default 0.02 */
  toleranceMs?: number;
  /** After a firing, callbacks due within this much run in the same turn (the owner spins the
   * remainder, never early). @default 0.06 */
  batchMs?: number;
  /** Predict the next due time only for gaps up to this. @default 50 */
  maxPredictMs?: number;
}

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

const IDLE = 0, TIMED = 1;

/**
 * Runs callbacks at `performance.now()` instants with sub-millisecond precision.
 * One worker per timer; `close()` ends it.
 */
export class PreciseTimer {
  #worker: Worker | undefined;
  #i32: Int32Array;
  #f64: Float64Array;
  #sab: SharedArrayBuffer;
  #heap = new Heap();
  #seq = 0;
  #armed = 0;
  #firing = false;
  #tolerance: number;
  #batch: number;
  #lead: number;
  #spin: number;
  #maxPredict: number;
  #closed = false;
  #ready: Promise<void>;
  /** Counters for measurement: owner-side notifies, worker wake-ups, firings. */
  readonly stats = { notifies: 0, fires: 0 };

  constructor(options: PreciseTimerOptions = {}) {
    this.#sab = new SharedArrayBuffer(32);
    this.#i32 = new Int32Array(this.#sab, 0, 4);
    this.#f64 = new Float64Array(this.#sab, 16, 2);
    this.#lead = options.leadMs ?? 0.04;
    this.#spin = options.spinMs ?? 0.12;
    this.#tolerance = options.toleranceMs ?? 0.02;
    this.#batch = options.batchMs ?? 0.06;
    this.#maxPredict = options.maxPredictMs ?? 50;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#ready = promise;
    this.#worker = this.#start(resolve);
  }

  /** Resolves once the worker runs, so the first callback is not late by its start-up. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Pending callbacks. */
  get pending(): number {
    return this.#heap.size;
  }

  /** Now, on the clock due times are written in. */
  now(): number {
    return performance.now();
  }

  /** Times the worker woke from a sleep (measurement). */
  get workerWakeups(): number {
    return Atomics.load(this.#i32, 2);
  }

  /** Runs `cb` at `due` (a `performance.now()` value); at once if already past. */
  at(due: number, cb: () => void): void {
    if (this.#closed) throw new Error("PreciseTimer is closed");
    this.#heap.push({ due, seq: this.#seq++, cb });
    // While firing, #fire re-arms once at the end for whatever is then first.
    if (!this.#firing && (this.#armed === 0 || due < this.#armed)) this.#arm(due);
  }

  /** Stops the worker; pending callbacks are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#i32, 3, 1);
    Atomics.add(this.#i32, 0, 1);
    Atomics.notify(this.#i32, 0);
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  #start(onReady: () => void): Worker {
    const url = URL.createObjectURL(
      new Blob([WORKER_SOURCE], { type: "application/javascript" }),
    );
    const w = new Worker(url, { type: "module" });
    URL.revokeObjectURL(url);
    w.onmessage = (e) => e.data === 1 ? onReady() : void this.#fire();
    w.postMessage({
      sab: this.#sab,
      leadMs: this.#lead,
      spinMs: this.#spin,
      maxPredictMs: this.#maxPredict,
      timeOrigin: performance.timeOrigin,
    });
    return w;
  }

  #arm(due: number): void {
    this.#armed = due;
    this.#f64[0] = due;
    const i32 = this.#i32;
    Atomics.add(i32, 0, 1); // a wait that has not begun yet returns at once
    const state = Atomics.load(i32, 1);
    // Notify only a worker that sleeps with no timeout, or past the time `due` needs.
    if (state === IDLE || (state === TIMED && this.#f64[1] - this.#spin > due)) {
      this.stats.notifies++;
      Atomics.notify(i32, 0);
    }
  }

  #fire(): number {
    if (this.#closed) return 0;
    this.stats.fires++;
    const heap = this.#heap;
    this.#firing = true;
    // Entries added by these callbacks wait for the next wake-up, a turn of their own: a loop
    // that re-schedules itself "now" lets responses in between (its burst limit holds).
    const stopSeq = this.#seq;
    let head = heap.peek();
    let ran = 0;
    try {
      while (head && head.seq < stopSeq) {
        const now = performance.now();
        if (head.due > now + this.#tolerance) {
          // A short remainder is cheaper to wait out here than another wake-up.
          const wait = Math.max(this.#lead, this.#batch) + this.#tolerance;
          if (head.due - now > wait) break;
          while (performance.now() < head.due) { /* sub-batch remainder */ }
        }
        heap.pop();
        head.cb();
        ran++;
        head = heap.peek();
      }
    } finally {
      this.#firing = false;
      // Re-armed even when a callback threw, so later entries are not stranded.
      head = heap.peek();
      if (head) {
        this.#arm(head.due);
      } else {
        // Disarm without a notify: a predicting worker wakes once, finds nothing, sleeps.
        this.#armed = 0;
        this.#f64[0] = 0;
        Atomics.add(this.#i32, 0, 1);
      }
    }
    return ran;
  }
}
