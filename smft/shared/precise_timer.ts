/**
 * A timer that fires within tens of microseconds of its due time.
 *
 * Deno's `setTimeout` rounds up on a 1 ms wheel (a 5 ms timer fires ~6.3 ms later under load),
 * which would add a fake millisecond to every hold in df and every send in smft. Here a worker
 * thread sleeps in `Atomics.wait` (futex, ~0.1 ms slack) until shortly before the earliest due
 * time, spins the last stretch, and posts one message; the owning thread then runs every
 * callback that is due. The worker sleeps, rather than spins, whenever nothing is near due.
 *
 * @module
 */

/** Worker source, inlined so that compiled binaries need no extra file. */
const WORKER_SOURCE = `
let gen, target, lead, spin;
self.onmessage = (e) => {
  gen = new Int32Array(e.data.sab, 0, 1);
  target = new Float64Array(e.data.sab, 8, 1);
  lead = e.data.leadMs; spin = e.data.spinMs;
  const offset = e.data.timeOrigin - performance.timeOrigin;
  self.postMessage(1);
  for (;;) {
    const g = Atomics.load(gen, 0);
    if (g < 0) break;
    const t = target[0];
    if (t === 0) { Atomics.wait(gen, 0, g); continue; }
    const fireAt = t + offset - lead;
    const sleep = fireAt - spin - performance.now();
    if (sleep > 0) { Atomics.wait(gen, 0, g, sleep); continue; }
    while (performance.now() < fireAt && Atomics.load(gen, 0) === g) { /* last stretch */ }
    if (Atomics.load(gen, 0) !== g) continue;
    self.postMessage(0);
    Atomics.wait(gen, 0, g);
  }
  self.close();
};
`;

/** Tuning measured on this project's machines (see README, "precise timer"). */
export interface PreciseTimerOptions {
  /** Post the wake-up this early, to cover message delivery to the owning thread. @default 0.04 */
  leadMs?: number;
  /** Spin (instead of sleeping) for this last stretch before firing. @default 0.12 */
  spinMs?: number;
  /** Callbacks due within this much of now run at once; later ones re-arm. @default 0.02 */
  toleranceMs?: number;
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

/**
 * Runs callbacks at `performance.now()` instants with sub-millisecond precision.
 * One worker per timer; `close()` ends it.
 */
export class PreciseTimer {
  #worker: Worker | undefined;
  #gen: Int32Array;
  #target: Float64Array;
  #sab: SharedArrayBuffer;
  #heap = new Heap();
  #seq = 0;
  #armed = 0;
  #tolerance: number;
  #lead: number;
  #spin: number;
  #closed = false;
  #ready: Promise<void>;

  constructor(options: PreciseTimerOptions = {}) {
    this.#sab = new SharedArrayBuffer(16);
    this.#gen = new Int32Array(this.#sab, 0, 1);
    this.#target = new Float64Array(this.#sab, 8, 1);
    this.#lead = options.leadMs ?? 0.04;
    this.#spin = options.spinMs ?? 0.12;
    this.#tolerance = options.toleranceMs ?? 0.02;
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

  /** Runs `cb` at `due` (a `performance.now()` value); at once if already past. */
  at(due: number, cb: () => void): void {
    if (this.#closed) throw new Error("PreciseTimer is closed");
    this.#heap.push({ due, seq: this.#seq++, cb });
    if (this.#armed === 0 || due < this.#armed) this.#arm(this.#heap.peek()!.due);
  }

  /** Stops the worker; pending callbacks are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#gen, 0, -1);
    Atomics.notify(this.#gen, 0);
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  #start(onReady: () => void): Worker {
    const url = URL.createObjectURL(
      new Blob([WORKER_SOURCE], { type: "application/javascript" }),
    );
    const w = new Worker(url, { type: "module" });
    URL.revokeObjectURL(url);
    w.onmessage = (e) => e.data === 1 ? onReady() : this.#fire();
    w.postMessage({
      sab: this.#sab,
      leadMs: this.#lead,
      spinMs: this.#spin,
      timeOrigin: performance.timeOrigin,
    });
    return w;
  }

  #arm(due: number): void {
    this.#armed = due;
    this.#target[0] = due;
    Atomics.add(this.#gen, 0, 1);
    Atomics.notify(this.#gen, 0);
  }

  #disarm(): void {
    this.#armed = 0;
    this.#target[0] = 0;
    Atomics.add(this.#gen, 0, 1);
    Atomics.notify(this.#gen, 0);
  }

  #fire(): void {
    if (this.#closed) return;
    const heap = this.#heap;
    let head = heap.peek();
    while (head) {
      const now = performance.now();
      if (head.due > now + this.#tolerance) {
        // A short remainder is cheaper to wait out here than another round trip.
        if (head.due - now > this.#lead + this.#tolerance) break;
        while (performance.now() < head.due) { /* sub-lead remainder */ }
      }
      heap.pop();
      head.cb();
      head = heap.peek();
    }
    if (head) this.#arm(head.due);
    else this.#disarm();
  }
}
