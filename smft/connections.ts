/**
 * `--connections N`: N channels in one smft process, each owned by its own worker thread, which
 * paces its own sends (its own `Pacer`, `shared/pacer.ts`, in the run's `--pacing` mode) and
 * sends shard k of N of this host's schedule. One channel on one thread is capped by that
 * thread; N threads use N cores. The workers hand their result lines back to this thread,
 * which writes the one results file, keeps the one summary and judges the run as a whole.
 * `runSteady` (`steady.ts`) opens these channels when N > 1 and runs its plan over them.
 *
 * The messages between this thread and a worker (`connection_worker.ts`) are typed here; a
 * worker gets the run's settings as a structured clone ({@link ClonedRun}).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { TlsMaterial } from "../certs/tls.ts";
import type { DrivenCalls } from "./harness.ts";
import { loopPlan, type LoopTotals, type Progress } from "./open_loop.ts";
import type { SteadyLine } from "./results_format.ts";
import { type Plan, totalRequests, warmupRequests } from "./schedule.ts";
import { cloneableRun, type ClonedRun, type RunChannels, type SteadyRun } from "./steady_run.ts";
import { UnreachableError } from "./channel.ts";
import type { ConnectionTrace } from "./tap.ts";
import type { UnaryMethod } from "./unary_method.ts";

/**
 * The plan of connection `k` (0-based) of `n`: every n-th request of this host's own sequence,
 * so that the n connections together send exactly this host's requests, whatever the other
 * hosts' connection counts. Host shard i of m sends combined requests i, i+m, i+2m, ...;
 * connection k takes the ones numbered k, k+n, ... among those: combined shard i + k·m of m·n.
 */
export function connectionPlan(plan: Plan, k: number, n: number): Plan {
  const m = plan.shardCount ?? 1;
  const i = plan.shardIndex ?? 0;
  return { ...plan, shardIndex: i + k * m, shardCount: m * n };
}

/**
 * Sent to a worker. Times cross threads as durations, never as instants: each thread's
 * `performance.timeOrigin` is a wall-clock reading, and a clock step between two of them would
 * shift one thread's plan against the others'.
 */
export type ToWorker =
  /** The run's settings: the worker connects as the run says, then waits for its plan. */
  | { type: "connect"; run: ClonedRun }
  /** `plan.t0` is ignored: the plan starts `startInMs` after the message was posted. */
  | { type: "start"; plan: Plan; startInMs: number }
  | { type: "stop" }
  /** Cancel the calls in flight now (a second SIGINT): they are written as CANCELLED. */
  | { type: "cancel" }
  /** Close the pacer and the channel, then say `closed`. */
  | { type: "close" };

/** What `#META` takes from a worker's connection trace: its TLS facts and where the server is. */
const TRACE_FACTS = [
  "tlsVersion",
  "cipher",
  "alpn",
  "peerSubject",
  "serverOnThisHost",
] as const;
export type TraceFacts = Pick<ConnectionTrace, typeof TRACE_FACTS[number]>;

/** What a worker's connection trace tells the run's `#META` (clonable across threads). */
export function traceFacts(t: ConnectionTrace): TraceFacts {
  return Object.fromEntries(TRACE_FACTS.map((k) => [k, t[k]])) as TraceFacts;
}

/** Sent by a worker. */
export type FromWorker =
  | { type: "ready"; trace?: TraceFacts }
  | { type: "unreachable"; message: string }
  | { type: "lines"; lines: SteadyLine[] }
  | { type: "progress"; progress: Progress }
  | { type: "measureStart" }
  /** `lastIssuedMeasured` is ms after the worker's own start of measurement (`t0 + warmupMs`). */
  | { type: "done"; totals: LoopTotals }
  | { type: "failed"; message: string }
  | { type: "closed" };

/** Thrown when a connection's thread failed; the other connections were stopped and drained. */
export class ConnectionFailedError extends Error {
  override name = "ConnectionFailedError";
}

/** The loops' totals as one host's (pure). Most in flight is a bound: the per-loop maxima. */
export function combineTotals(all: LoopTotals[]): LoopTotals {
  return {
    interrupted: all.some((t) => t.interrupted),
    sent: all.reduce((s, t) => s + t.sent, 0),
    measuredSent: all.reduce((s, t) => s + t.measuredSent, 0),
    lastIssuedMeasured: Math.max(...all.map((t) => t.lastIssuedMeasured)),
    maxInflight: all.reduce((s, t) => s + t.maxInflight, 0),
    abandoned: all.reduce((s, t) => s + t.abandoned, 0),
    allocatedBytes: all.reduce((s, t) => s + t.allocatedBytes, 0),
    spins: all.reduce((s, t) => s + t.spins, 0),
    readGaps: all.flatMap((t) => t.readGaps),
    ioProbes: all.flatMap((t) => t.ioProbes),
    ioProbeRtts: all.flatMap((t) => t.ioProbeRtts),
  };
}

/**
 * The progress line of N connections (pure): counts add up; latency and lag figures are the
 * worst connection's, never an average that would hide one falling behind.
 */
export function combineProgress(all: Progress[]): Progress {
  const sum = (f: (p: Progress) => number) => all.reduce((s, p) => s + f(p), 0);
  const max = (f: (p: Progress) => number) => Math.max(...all.map(f));
  return {
    ...all[0],
    rate: sum((p) => p.rate),
    inflight: sum((p) => p.inflight),
    ok: sum((p) => p.ok),
    errors: sum((p) => p.errors),
    p50: max((p) => p.p50),
    p99: max((p) => p.p99),
    lagP99: max((p) => p.lagP99),
  };
}

/** TLS material as it crosses to a worker: structured cloning turns Buffers into Uint8Arrays. */
export function tlsFromClone(m: TlsMaterial): TlsMaterial {
  const buf = (b?: Uint8Array) => b === undefined ? undefined : Buffer.from(b);
  return { ...m, ca: buf(m.ca), cert: buf(m.cert), key: buf(m.key) };
}

/** One worker thread and its connection, seen from this thread. */
class ConnectionWorker {
  #w = new Worker(new URL("./connection_worker.ts", import.meta.url), { type: "module" });
  #on: (m: FromWorker) => void = () => {};
  #fail: (e: Error) => void = () => {};
  #closed = Promise.withResolvers<void>();

  constructor() {
    this.#w.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.type === "failed") this.#fail(new Error(e.data.message));
      else if (e.data.type === "closed") this.#closed.resolve();
      else this.#on(e.data);
    };
    this.#w.onerror = (e) => {
      e.preventDefault();
      this.#fail(new Error(e.message));
      this.#closed.resolve();
    };
  }

  /** Connects; resolves with its TLS facts, rejects with {@link UnreachableError}. */
  connect(run: ClonedRun): Promise<TraceFacts | undefined> {
    const { promise, resolve, reject } = Promise.withResolvers<TraceFacts | undefined>();
    this.#fail = reject;
    this.#on = (m) => {
      if (m.type === "ready") resolve(m.trace);
      else if (m.type === "unreachable") reject(new UnreachableError(m.message));
    };
    this.post({ type: "connect", run });
    return promise;
  }

  /** Runs its plan (`t0` on this thread's clock); totals come back on this thread's clock. */
  run(plan: Plan, sink: {
    lines(l: SteadyLine[]): void;
    progress(p: Progress): void;
    measureStart(): void;
  }, signal: AbortSignal): Promise<LoopTotals> {
    const { promise, resolve, reject } = Promise.withResolvers<LoopTotals>();
    const stop = () => this.post({ type: "stop" });
    signal.addEventListener("abort", stop, { once: true });
    const settle = () => signal.removeEventListener("abort", stop);
    this.#fail = (e) => {
      settle();
      reject(e);
    };
    this.#on = (m) => {
      if (m.type === "lines") sink.lines(m.lines);
      else if (m.type === "progress") sink.progress(m.progress);
      else if (m.type === "measureStart") sink.measureStart();
      else if (m.type === "done") {
        settle();
        const measureStart = plan.t0 + plan.warmupMs;
        resolve({ ...m.totals, lastIssuedMeasured: measureStart + m.totals.lastIssuedMeasured });
      }
    };
    this.post({ type: "start", plan, startInMs: plan.t0 - performance.now() });
    if (signal.aborted) stop();
    return promise;
  }

  post(m: ToWorker): void {
    this.#w.postMessage(m);
  }

  /** Closes the worker's pacer and channel (at most `waitMs`), then ends the thread. */
  async close(waitMs = 1000): Promise<void> {
    this.post({ type: "close" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#closed.promise,
      new Promise<void>((r) => timer = setTimeout(r, waitMs)),
    ]);
    clearTimeout(timer);
    this.#w.terminate();
  }
}

/**
 * `run.connections` channels, one worker thread each, connected (or all closed again and
 * {@link UnreachableError} thrown); `runSteady` in `steady.ts` runs its plan over them.
 */
export async function openConnections(run: SteadyRun, method: UnaryMethod): Promise<RunChannels> {
  const n = run.connections ?? 1;
  const workers = Array.from({ length: n }, () => new ConnectionWorker());
  const close = async () => {
    await Promise.all(workers.map((w) => w.close()));
  };
  let traces: (TraceFacts | undefined)[];
  try {
    const cloned = cloneableRun(run, method);
    traces = await Promise.all(workers.map((w) => w.connect(cloned)));
  } catch (e) {
    await close();
    throw e;
  }
  return {
    trace: traces[0],
    callsOf: (plan) => {
      const plans = workers.map((_, k) => connectionPlan(plan, k, n));
      return {
        loop: loopPlan(run, plan, {
          total: plans.reduce((s, p) => s + totalRequests(p), 0),
          firstMeasured: plans.reduce((s, p) => s + warmupRequests(p), 0),
        }),
        calls: driveConnections(workers, plans),
      };
    },
    cancel: () => workers.forEach((w) => w.post({ type: "cancel" })),
    close,
  };
}

/** Worker `k` runs `plans[k]`; their lines, progress and totals come back as one host's. */
function driveConnections(workers: ConnectionWorker[], plans: Plan[]): DrivenCalls<SteadyLine> {
  const n = workers.length;
  return {
    drive: async (sink, signal) => {
      // A connection that fails stops the others, which drain: their lines are kept.
      const all = new AbortController();
      const stopAll = () => all.abort();
      signal.addEventListener("abort", stopAll, { once: true });
      if (signal.aborted) stopAll();
      const latest: (Progress | undefined)[] = [];
      // Once a second on this thread, whichever connections have reported (some may be done).
      const progress = setInterval(() => {
        const got = latest.filter((p): p is Progress => p !== undefined);
        if (got.length) sink.progress(combineProgress(got));
      }, 1000);
      let measuring = false;
      const runs = await Promise.allSettled(workers.map((w, k) =>
        w.run(plans[k], {
          lines: (lines) => lines.forEach((l) => sink.line(l)),
          progress: (p) => latest[k] = p,
          measureStart: () => {
            if (!measuring) sink.measureStart();
            measuring = true;
          },
        }, all.signal).catch((e) => {
          stopAll();
          throw e;
        })
      ));
      clearInterval(progress);
      signal.removeEventListener("abort", stopAll);
      const failed = runs.findIndex((r) => r.status === "rejected");
      if (failed >= 0) {
        const why = (runs[failed] as PromiseRejectedResult).reason as Error;
        throw new ConnectionFailedError(
          `connection ${failed + 1} of ${n} failed (${why.message}); the others were stopped ` +
            `and their lines kept`,
        );
      }
      return combineTotals(runs.map((r) => (r as PromiseFulfilledResult<LoopTotals>).value));
    },
  };
}
