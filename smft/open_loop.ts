/**
 * The open loop both tests share: launches by the plan (everything owed, however late), times
 * each launch against its intended instant (lag), counts what is in flight, reports progress
 * once a second, and when the plan ends (or on interrupt) waits for what is in flight,
 * abandoning it only after a bound. Time comes from a {@link Clock}, so the loop is tested with
 * a fake one. A run enters it through {@link runOpenLoop}, with its plan from {@link loopPlan}.
 *
 * @module
 */
import { getHeapStatistics } from "node:v8";
import { intendedAt, pace, type Plan, totalRequests, warmupRequests } from "./schedule.ts";
import { encodeHistogram, Series } from "./histogram.ts";
import type { BusyLog } from "./shared/pacer.ts";
import { ReadGaps } from "./own_delay.ts";
import type { IoProbe } from "./io_probe.ts";

/** Where the loop gets the time and its wake-ups: the pacer (`shared/pacer.ts`) in a run, a fake in tests. */
export interface Clock {
  /** Now, on the clock the plan is written in (`performance.now()` in a run), ms. */
  now(): number;
  /** Runs `cb` at `due` (at once if already past). */
  at(due: number, cb: () => void): void;
  /** Event-loop turns made without sleeping so far (a spinning pacer's), if it counts them. */
  readonly stats?: { readonly spins: number };
  /** Sends the intervals in which this thread could not read to `log` (the pacer can). */
  listenBusy?(log: BusyLog | undefined): void;
}

/** The read side's raw figures of one thread: its busy intervals (encoded µs histogram) and window. */
export interface ReadGapsRecord {
  hist: string;
  windowMs: number;
}

/** How one launched request (or attempt) ended. */
export interface Outcome {
  ok: boolean;
  /** Latency (steady) or the attempt's total time (coldconn), ms, for the progress line. */
  valueMs?: number;
}

/** What the progress display shows, once a second. */
export interface Progress {
  phase: "warm-up" | "measure" | "draining";
  elapsedS: number;
  totalS: number;
  /** Requests (or attempts) started in the last second. */
  rate: number;
  inflight: number;
  /** Outcomes after warm-up, so they agree with the summary. */
  ok: number;
  errors: number;
  /** Latency (steady) or total attempt time (coldconn) in the last second, ms; 0 when none. */
  p50: number;
  p99: number;
  lagP99: number;
}

/** The plan as a loop runs it: its requests, where measurement begins, its length in seconds. */
export interface LoopPlan {
  plan: Plan;
  /** This host's requests (or attempts) in the whole run. */
  total: number;
  /** Requests before this index are warm-up: sent, not counted in progress totals. */
  firstMeasured: number;
  warmupS: number;
  totalS: number;
}

/**
 * The plan as a loop runs it, for a run of `warmupS` + `durationS` seconds (pure). Its requests
 * are the plan's own, unless `counts` says otherwise: coldconn's whole attempts, or the sums over
 * the connections of `--connections N`.
 */
export function loopPlan(
  run: { warmupS: number; durationS: number },
  plan: Plan,
  counts: Pick<LoopPlan, "total" | "firstMeasured"> = {
    total: totalRequests(plan),
    firstMeasured: warmupRequests(plan),
  },
): LoopPlan {
  return { plan, ...counts, warmupS: run.warmupS, totalS: run.warmupS + run.durationS };
}

/**
 * How a loop's requests (or attempts) are made, on the thread the loop runs on; each settles
 * with an `R` (an {@link Outcome} for the loop itself).
 */
export interface LoopCalls<R = Outcome> {
  /** The pacer (`shared/pacer.ts`) of this thread in a run, a fake in tests. */
  clock: Clock;
  /**
   * Starts request `j`, due at `intended`, issued now at `issued`; settles with its outcome.
   * It must not throw: a failure is an outcome.
   */
  launch: (j: number, intended: number, issued: number, loop: OpenLoop) => Promise<R>;
  /** After a tick that leaves more to come (coldconn prepares its next channel here). */
  afterTick?: () => void;
  /** When scheduling stops, for good or by interrupt. */
  onScheduleEnd?: () => void;
  /** Ends whatever is still in flight once `boundMs` has passed after the plan. */
  abandon: () => void;
  /** How long in-flight work may take after the plan ends: its deadline and some slack. */
  boundMs: number;
  /** Largest number launched in one turn of the event loop while catching up. */
  burst: number;
  /** This thread's I/O probe (`io_probe.ts`), timed from the first measured call. */
  probe?: IoProbe;
}

/** Who hears from a loop while it runs, and what stops it. */
export interface LoopListeners {
  /** Aborting stops scheduling; what is in flight still finishes (bounded). */
  signal?: AbortSignal;
  /** When the first measured request is issued (the warm-up is over). */
  onMeasureStart?: () => void;
  onProgress?: (p: Progress) => void;
}

/** What an {@link OpenLoop} needs from the test it drives: its plan, its calls, its listeners. */
export interface OpenLoopOptions extends LoopPlan, LoopListeners {
  calls: LoopCalls;
}

/** What one call (or attempt) produced. */
export interface Done<L extends { ok: boolean }> {
  /** Its result line; written only after warm-up. */
  line: L;
  /** Latency (steady) or total attempt time (coldconn) for the progress line. */
  valueMs?: number;
}

/** What a finished loop counted. */
export interface LoopTotals {
  interrupted: boolean;
  /** Launched in all, warm-up included. */
  sent: number;
  /** Launched after warm-up. */
  measuredSent: number;
  /** When the last measured request was issued (the plan's start of measurement if none). */
  lastIssuedMeasured: number;
  maxInflight: number;
  /** In flight when the bound passed and the rest was abandoned. */
  abandoned: number;
  /** Bytes this thread's V8 heap allocated while the loop ran (`total_allocated_bytes`). */
  allocatedBytes: number;
  /** Event-loop turns the clock spun meanwhile (0 when it does not count them). */
  spins: number;
  /** Each loop thread's busy intervals over the measurement (none when its clock cannot tell). */
  readGaps: ReadGapsRecord[];
  /**
   * Each loop thread's I/O probe over the measurement: how late it read each stamp, over the
   * fastest, an encoded µs histogram (none without a probe).
   */
  ioProbes: string[];
  /** The same probes' round trips over their fastest (the calibration's comparison). */
  ioProbeRtts: string[];
}

/** How long abandoned work may take to report its end before the loop gives up on it. */
const ABANDON_GRACE_MS = 500;

/**
 * Drives a plan.
 *
 * @example
 * ```ts
 * const loop = new OpenLoop({ plan, total, firstMeasured, warmupS, totalS, calls });
 * const totals = await loop.run();
 * ```
 */
export class OpenLoop {
  #o: OpenLoopOptions;
  #sent = 0;
  #inflight = 0;
  #maxInflight = 0;
  #ok = 0;
  #errors = 0;
  #lastIssuedMeasured: number;
  #scheduling = true;
  #ended = Promise.withResolvers<void>();
  #drained = Promise.withResolvers<void>();
  // The progress line's figures for the last second.
  #started = 0;
  #value = new Series(false);
  #lag = new Series(false);
  #gaps: ReadGaps | undefined;
  /** V8's allocated bytes and the pacer's turns when the measurement began (the first measured call). */
  #alloc0: number | undefined;
  #spins0 = 0;

  constructor(o: OpenLoopOptions) {
    this.#o = o;
    this.#lastIssuedMeasured = o.plan.t0 + o.plan.warmupMs;
  }

  /** Requests in flight now. */
  get inflight(): number {
    return this.#inflight;
  }

  #launch(j: number): void {
    const o = this.#o;
    const intended = intendedAt(o.plan, j);
    const issued = o.calls.clock.now();
    const measured = j >= o.firstMeasured;
    if (measured) {
      if (j === o.firstMeasured) {
        this.#gaps?.start(issued);
        this.#alloc0 = getHeapStatistics().total_allocated_bytes;
        this.#spins0 = o.calls.clock.stats?.spins ?? 0;
        o.calls.probe?.start();
        o.onMeasureStart?.();
      }
      this.#lastIssuedMeasured = issued;
    }
    if (++this.#inflight > this.#maxInflight) this.#maxInflight = this.#inflight;
    this.#started++;
    this.#lag.record(issued - intended);
    o.calls.launch(j, intended, issued, this).then((out) => this.#end(out, measured));
  }

  #end(out: Outcome, measured: boolean): void {
    this.#inflight--;
    if (measured) {
      if (out.ok) this.#ok++;
      else this.#errors++;
    }
    if (out.ok && out.valueMs !== undefined) this.#value.record(out.valueMs);
    if (!this.#scheduling && this.#inflight === 0) this.#drained.resolve();
  }

  #finish = (): void => {
    if (!this.#scheduling) return;
    this.#scheduling = false;
    this.#o.calls.onScheduleEnd?.();
    this.#ended.resolve();
    if (this.#inflight === 0) this.#drained.resolve();
  };

  #tick = (): void => {
    const o = this.#o;
    if (!this.#scheduling) return;
    if (o.signal?.aborted) return this.#finish();
    const now = o.calls.clock.now();
    const { send, nextAt } = pace(o.plan, now, this.#sent);
    const n = Math.min(send, o.calls.burst, o.total - this.#sent);
    for (let i = 0; i < n; i++) this.#launch(this.#sent++);
    if (this.#sent >= o.total || (nextAt === undefined && send === n)) return this.#finish();
    o.calls.afterTick?.();
    // More owed than one burst: come back at once, letting responses in between.
    o.calls.clock.at(send > n ? now : nextAt!, this.#tick);
  };

  #report = (): void => {
    const o = this.#o;
    const elapsed = (o.calls.clock.now() - o.plan.t0) / 1000;
    const value = this.#value.count ? this.#value.stat() : undefined;
    o.onProgress?.({
      phase: !this.#scheduling ? "draining" : elapsed < o.warmupS ? "warm-up" : "measure",
      elapsedS: Math.max(0, Math.min(elapsed, o.totalS)),
      totalS: o.totalS,
      rate: this.#started,
      inflight: this.#inflight,
      ok: this.#ok,
      errors: this.#errors,
      p50: value?.p50 ?? 0,
      p99: value?.p99 ?? 0,
      lagP99: this.#lag.count ? this.#lag.stat().p99 : 0,
    });
    this.#started = 0;
    this.#value.reset();
    this.#lag.reset();
  };

  /** Runs the plan to its end (or an interrupt) and waits for what is in flight. */
  async run(): Promise<LoopTotals> {
    const o = this.#o;
    const clock = o.calls.clock;
    if (clock.listenBusy) {
      this.#gaps = new ReadGaps();
      clock.listenBusy(this.#gaps);
    }
    let running = true;
    const everySecond = (at: number) => {
      clock.at(at, () => {
        if (!running) return;
        this.#report();
        everySecond(at + 1000);
      });
    };
    everySecond(o.plan.t0 + 1000);
    clock.at(o.plan.t0, this.#tick);
    o.signal?.addEventListener("abort", this.#finish, { once: true });
    // Interrupted before the loop began (e.g. during connect): stop now, not at t0.
    if (o.signal?.aborted) this.#finish();
    let abandoned = 0;
    try {
      await this.#ended.promise;
      const late = Promise.withResolvers<boolean>();
      clock.at(clock.now() + o.calls.boundMs, () => late.resolve(true));
      if (await Promise.race([this.#drained.promise.then(() => false), late.promise])) {
        abandoned = this.#inflight;
        o.calls.abandon();
        // Abandoned work reports its end asynchronously; give it a moment to be written.
        const grace = Promise.withResolvers<void>();
        clock.at(clock.now() + ABANDON_GRACE_MS, () => grace.resolve());
        await Promise.race([this.#drained.promise, grace.promise]);
      }
    } finally {
      running = false;
      o.signal?.removeEventListener("abort", this.#finish);
      this.#value.destroy();
      this.#lag.destroy();
      clock.listenBusy?.(undefined);
    }
    const probed = await o.calls.probe?.stop();
    const ioProbes = probed ? [encodeHistogram(probed.hist)] : [];
    const ioProbeRtts = probed?.rttHist ? [encodeHistogram(probed.rttHist)] : [];
    probed?.hist.destroy();
    probed?.rttHist?.destroy();
    const gaps = this.#gaps;
    const readGaps: ReadGapsRecord[] = [];
    if (gaps) {
      const windowMs = gaps.stop(clock.now());
      if (windowMs > 0) readGaps.push({ hist: encodeHistogram(gaps.hist), windowMs });
      gaps.destroy();
    }
    return {
      interrupted: o.signal?.aborted ?? false,
      sent: this.#sent,
      measuredSent: Math.max(0, this.#sent - o.firstMeasured),
      lastIssuedMeasured: this.#lastIssuedMeasured,
      maxInflight: this.#maxInflight,
      abandoned,
      allocatedBytes: this.#alloc0 === undefined
        ? 0
        : getHeapStatistics().total_allocated_bytes - this.#alloc0,
      spins: this.#alloc0 === undefined ? 0 : (clock.stats?.spins ?? 0) - this.#spins0,
      readGaps,
      ioProbes,
      ioProbeRtts,
    };
  }
}

/**
 * Runs the open loop of calls made on this thread (a test's, in `runTest`, and each thread's of
 * `--connections`) to its end; measured lines go to `record`.
 */
export function runOpenLoop<L extends { ok: boolean }>(
  loop: LoopPlan,
  calls: LoopCalls<Done<L>>,
  on: LoopListeners & { record: (line: L) => void },
): Promise<LoopTotals> {
  const { record, ...listeners } = on;
  return new OpenLoop({
    ...loop,
    ...listeners,
    calls: {
      ...calls,
      launch: (j, intended, issued, open) =>
        calls.launch(j, intended, issued, open).then((done) => {
          if (j >= loop.firstMeasured) record(done.line);
          return { ok: done.line.ok, valueMs: done.valueMs };
        }),
    },
  }).run();
}
