/**
 * A precise alarm that does not spin: another thread sleeps in `Atomics.wait` (microsecond
 * timeouts) until the instant and wakes this one through `Atomics.notify`, which this thread
 * awaits with `Atomics.waitAsync`. This thread waits in its event loop's poll meanwhile, so it
 * reads its sockets at once. (A `postMessage` per wake-up was as quick but allocated ~30 KiB on
 * this thread each time, in Deno's message path; `waitAsync` ~1.4 KiB. Its counter lives in a
 * buffer of its own: on Deno 2.9.3 a notify on another index of the same buffer resolved this
 * thread's `waitAsync` too.) Measured on this project's VM (Deno
 * 2.9.3, 1000 and 2000 alarms a second, also pinned to one core): the wake-up arrives 0.09–0.15 ms
 * after the other thread wakes, ~0.3 ms p99, for ~40 µs of CPU per alarm (both threads); Deno's
 * `setTimeout` is ~1.2 ms late p50, and spinning costs a core. So the other thread wakes early by
 * that delivery time (its median, learned as it runs), and a wake-up that arrives before the
 * instant waits out the few microseconds left in a loop on the clock.
 *
 * @module
 */

/** One pending instant at a time; setting another replaces it. */
export interface Alarm {
  /** Settles when the alarm's thread runs (a worker takes ~0.1–1 s to start under load). */
  readonly ready: Promise<void>;
  /** Runs `cb` at `due` (`performance.now()` clock), never before, once. */
  set(due: number, cb: () => void): void;
  /** Forgets the pending instant. */
  clear(): void;
  /** Ends the alarm's thread. */
  close(): void;
}

/** The most a wake-up that came early waits on the clock, ms (more: the alarm is set again). */
const MAX_EARLY_MS = 0.5;
/** Deliveries kept to learn the lead from. */
const WINDOW = 128;

/** The alarm on its own thread (`alarm_worker.ts`). */
export class WorkerAlarm implements Alarm {
  #worker: Worker;
  #f64: Float64Array;
  #i32: Int32Array;
  #due = Infinity;
  #cb: (() => void) | undefined;
  /** How early the other thread wakes: the median delivery time of the last {@link WINDOW}. */
  #lead = 0;
  #deliveries = new Float64Array(WINDOW);
  #n = 0;
  #ready = Promise.withResolvers<void>();
  readonly ready: Promise<void> = this.#ready.promise;

  /** The alarm thread's wake-ups so far (a buffer of its own), and how many this thread saw. */
  #woken = new Int32Array(new SharedArrayBuffer(4));
  #seen = 0;
  /** A `waitAsync` on {@link #woken} is pending. */
  #waiting = false;

  constructor() {
    const sab = new SharedArrayBuffer(24);
    this.#f64 = new Float64Array(sab, 0, 2);
    this.#i32 = new Int32Array(sab, 16, 2);
    this.#f64[0] = Infinity;
    this.#worker = new Worker(new URL("./alarm_worker.ts", import.meta.url), { type: "module" });
    this.#worker.postMessage({ sab, woken: this.#woken.buffer, origin: performance.timeOrigin });
    this.#worker.onmessage = () => this.#ready.resolve();
  }

  set(due: number, cb: () => void): void {
    this.#cb = cb;
    this.#write(due);
  }

  clear(): void {
    this.#cb = undefined;
    this.#write(Infinity);
  }

  close(): void {
    this.clear();
    Atomics.store(this.#i32, 1, 1);
    Atomics.notify(this.#i32, 0);
    this.#worker.terminate();
  }

  /** How early the other thread wakes, ms (learned). */
  get leadMs(): number {
    return this.#lead;
  }

  #write(due: number): void {
    this.#due = due;
    this.#f64[0] = due - this.#lead;
    Atomics.add(this.#i32, 0, 1);
    Atomics.notify(this.#i32, 0);
    if (due < Infinity) this.#await();
  }

  /** One `waitAsync` at a time on the alarm thread's wake-ups. */
  #await(): void {
    if (this.#waiting) return;
    this.#waiting = true;
    const r = Atomics.waitAsync(this.#woken, 0, this.#seen);
    if (r.async) r.value.then(this.#woke);
    else queueMicrotask(this.#woke);
  }

  #woke = (): void => {
    this.#waiting = false;
    this.#seen = Atomics.load(this.#woken, 0);
    this.#fired();
    if (this.#cb) this.#await();
  };

  // The instant decides, not the wake-up: one that crossed a newer setting, or came a hair
  // early (the two clocks' origins), sets the alarm again.
  #fired(): void {
    const cb = this.#cb;
    if (!cb) return;
    const due = this.#due;
    let now = performance.now();
    if (due - now > MAX_EARLY_MS) return this.#write(due);
    this.#learn(now - (due - this.#lead));
    while (now < due) now = performance.now();
    this.#cb = undefined;
    this.#due = Infinity;
    cb();
  }

  #learn(deliveryMs: number): void {
    this.#deliveries[this.#n++ % WINDOW] = deliveryMs;
    if (this.#n % WINDOW === 0) {
      const xs = this.#deliveries.slice().sort();
      this.#lead = Math.min(MAX_EARLY_MS, Math.max(0, xs[WINDOW >> 1]));
    }
  }
}
