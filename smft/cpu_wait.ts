/**
 * How long the thread that owns a connection waited for a CPU each time it became runnable (its
 * scheduling latency), from Linux's `/proc/thread-self/schedstat`: time run, time waited on a run
 * queue, and how many times it was scheduled. On an idle core a wake-up costs this VM ~15–45 µs; a
 * thread whose core is taken by another (a busy process, a server on the same cores) waits out the
 * other's slice, ~100 µs and more on average. Unlike the host's pressure (`/proc/pressure/cpu`),
 * which grows with every thread's wake-ups and so with the rate, the mean per wake-up does not.
 * Absent where the kernel does not report it.
 *
 * @module
 */

/** One reading of this thread's schedstat. */
export interface SchedReading {
  /** Nanoseconds waited on a run queue so far. */
  waitNs: number;
  /** Times this thread was scheduled so far. */
  slices: number;
}

/** What a thread's waits for a CPU came to over a window. */
export interface CpuWait {
  waitNs: number;
  slices: number;
}

/** The three figures of a schedstat line, or undefined (pure). */
export function parseSchedstat(text: string): SchedReading | undefined {
  const [, wait, slices] = text.trim().split(/\s+/).map(Number);
  return Number.isFinite(wait) && Number.isFinite(slices) ? { waitNs: wait, slices } : undefined;
}

/** This thread's schedstat now; undefined where Linux does not report it. */
export function readSched(path = "/proc/thread-self/schedstat"): SchedReading | undefined {
  try {
    return parseSchedstat(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
}

/** The waits between two readings (pure). */
export function waitBetween(from: SchedReading, to: SchedReading): CpuWait {
  return {
    waitNs: Math.max(0, to.waitNs - from.waitNs),
    slices: Math.max(0, to.slices - from.slices),
  };
}

/**
 * The mean wait for a CPU per scheduling of several threads' windows together, µs; undefined
 * without any (pure).
 */
export function meanWaitUs(waits: readonly CpuWait[]): number | undefined {
  const slices = waits.reduce((a, w) => a + w.slices, 0);
  if (slices === 0) return undefined;
  return waits.reduce((a, w) => a + w.waitNs, 0) / slices / 1000;
}
