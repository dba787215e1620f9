/**
 * One connection of `--connections N`, on its own thread: connects as the run's settings say,
 * then runs its share of the plan with its own open loop, paced by its own `Pacer` (the thread
 * that owns the channel waits for each send itself), and posts its measured lines back in
 * batches (`connections.ts` has the protocol). It prints nothing.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { UnreachableError } from "./channel.ts";
import { loopPlan, runOpenLoop } from "./open_loop.ts";
import type { Plan } from "./schedule.ts";
import type { SteadyLine } from "./results_format.ts";
import { openPacedChannel, type PacedChannel, unaryCalls } from "./steady.ts";
import type { ClonedRun } from "./steady_run.ts";
import { type FromWorker, tlsFromClone, type ToWorker, traceFacts } from "./connections.ts";

/** Lines are posted this often (and at the end): a batch per ~100 calls at 1000/s. */
const FLUSH_MS = 100;

let job: ClonedRun | undefined;
let paced: PacedChannel | undefined;
const stop = new AbortController();
/** Cancels this connection's calls in flight (set while its plan runs). */
let cancelCalls: (() => void) | undefined;
const post = (m: FromWorker) => self.postMessage(m);

async function connect(run: ClonedRun): Promise<void> {
  job = { ...run, target: { ...run.target, tls: tlsFromClone(run.target.tls) } };
  try {
    paced = await openPacedChannel(job);
  } catch (e) {
    if (!(e instanceof UnreachableError)) throw e;
    return post({ type: "unreachable", message: e.message });
  }
  const { trace } = paced.channel;
  post({ type: "ready", trace: trace && traceFacts(trace) });
}

/** Closes the pacer (and, under `wake`, its alarm thread) and the channel; safe to call twice. */
function close(): void {
  paced?.close();
}

async function start(given: Plan, startInMs: number): Promise<void> {
  if (!job || !paced) throw new Error("start before connect");
  const { channel, pacer, probe } = paced;
  const plan = { ...given, t0: performance.now() + startInMs };
  const calls = unaryCalls(channel, pacer, {
    method: job.method,
    deadlineMs: job.deadlineMs,
    measureStart: plan.t0 + plan.warmupMs,
    probe,
  });
  cancelCalls = calls.abandon;
  let batch: SteadyLine[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    post({ type: "lines", lines: batch });
    batch = [];
  };
  const flusher = setInterval(flush, FLUSH_MS);
  try {
    const totals = await runOpenLoop(loopPlan(job, plan), calls, {
      signal: stop.signal,
      onMeasureStart: () => post({ type: "measureStart" }),
      onProgress: (progress) => post({ type: "progress", progress }),
      record: (line) => batch.push(line),
    });
    flush();
    // Times go back as durations from this thread's own start of measurement.
    const measureStart = plan.t0 + plan.warmupMs;
    post({
      type: "done",
      totals: { ...totals, lastIssuedMeasured: totals.lastIssuedMeasured - measureStart },
    });
  } finally {
    clearInterval(flusher);
    flush();
    close();
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  const fail = (err: unknown) =>
    post({ type: "failed", message: (err as Error)?.message ?? String(err) });
  if (m.type === "connect") connect(m.run).catch(fail);
  else if (m.type === "start") start(m.plan, m.startInMs).catch(fail);
  else if (m.type === "stop") stop.abort();
  else if (m.type === "cancel") cancelCalls?.();
  else {
    close();
    post({ type: "closed" });
  }
};
