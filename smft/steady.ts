/**
 * Runs one steady test at one rate and writes its results file: schedule -> call -> record, an
 * open loop over reused channels.
 *
 * Every request has three instants on one monotonic clock: `intended` (the plan), `issued`
 * (the call was made) and `done` (its status arrived). Latency is done − intended, so a stall
 * of the generator shows up in the figures instead of hiding (no coordinated omission).
 *
 * A run starts here ({@link runSteady}): over one channel driven on this thread, or over N, each
 * driven by its own worker thread (`connections.ts`); either way its plan, `#META` and harness
 * are put together here, once.
 *
 * @module
 */
import { DEFAULT_PACING, Pacer } from "./shared/pacer.ts";
import { IoProbe } from "./io_probe.ts";
import { plannedRate, totalRequests, warmupRequests } from "./schedule.ts";
import { methodOf, type UnaryMethod } from "./unary_method.ts";
import { connectForRun } from "./channel.ts";
import { type CallStatus, H2Channel, unaryRequest } from "./h2_channel.ts";
import { cutMessage, handlingTime, r3, statusName } from "./results_format.ts";
import { encodeHistogram } from "./histogram.ts";
import { inFlightBoundMs, type RunResult, runTest, type TestSpec } from "./harness.ts";
import { makePlan, runMeta } from "./run_meta.ts";
import { type Clock, type Done, type LoopCalls, loopPlan } from "./open_loop.ts";
import type { Meta, SteadyLine } from "./results_format.ts";
import type { Plan } from "./schedule.ts";
import type { ConnectionTrace } from "./tap.ts";
import { openConnections } from "./connections.ts";
import { methodMeta, type RunChannels, type SteadyRun } from "./steady_run.ts";

/** The outcome of a run. */
export type SteadyResult = RunResult;

/** Largest number of calls issued in one turn of the event loop when catching up. */
const BURST = 256;

/**
 * Runs one steady test and writes its results file: on this thread with one connection, on N
 * worker threads with N.
 */
export async function runSteady(run: SteadyRun): Promise<SteadyResult> {
  const method = methodOf(run);
  const channels = (run.connections ?? 1) > 1
    ? await openConnections(run, method)
    : await openHere(run, method);
  try {
    const { plan, startEpochMs } = makePlan(run);
    const meta = steadyMeta(run, plan, startEpochMs, channels.trace, method);
    const cancel = () => channels.cancel();
    run.cancel?.addEventListener("abort", cancel);
    try {
      return await runTest<SteadyLine>({
        ...steadySpec(run, meta, plan),
        ...channels.callsOf(plan),
      });
    } finally {
      run.cancel?.removeEventListener("abort", cancel);
    }
  } finally {
    await channels.close();
  }
}

/** A connected channel, its thread's pacer (ready) and I/O probe; `close` ends all three. */
export interface PacedChannel {
  channel: H2Channel;
  pacer: Pacer;
  probe?: IoProbe;
  close: () => void;
}

/**
 * What a thread that drives a channel needs before its plan starts: the channel connected, its
 * pacer's alarm thread running, its I/O probe started (or undefined when it cannot start). On a
 * failure all of them are closed again and the error is thrown (`UnreachableError` for df).
 */
export async function openPacedChannel(
  run: Pick<SteadyRun, "target" | "connectTimeoutMs" | "pacing">,
): Promise<PacedChannel> {
  const channel = new H2Channel(run.target);
  const paced: PacedChannel = {
    channel,
    pacer: new Pacer(run.pacing ?? DEFAULT_PACING),
    close: () => {
      paced.probe?.close();
      paced.pacer.close();
      channel.close();
    },
  };
  try {
    await connectForRun(channel, run);
    paced.probe = await IoProbe.start();
    await paced.pacer.ready();
  } catch (e) {
    paced.close();
    throw e;
  }
  return paced;
}

/** One channel driven on this thread: connected, with its pacer and I/O probe ready. */
async function openHere(run: SteadyRun, method: UnaryMethod): Promise<RunChannels> {
  const { channel, pacer, probe, close } = await openPacedChannel(run);
  let calls: LoopCalls<Done<SteadyLine>> | undefined;
  return {
    trace: channel.trace,
    callsOf: (plan) => {
      const measureStart = plan.t0 + plan.warmupMs;
      calls = unaryCalls(channel, pacer, {
        method,
        deadlineMs: run.deadlineMs,
        measureStart,
        probe,
      });
      return { calls, loop: loopPlan(run, plan) };
    },
    cancel: () => calls?.abandon(),
    close: () => Promise.resolve(close()),
  };
}

/**
 * Steady's calls over a ready channel, paced by `clock`: "one call", and a way to end the calls
 * still in flight (one connection's, on whichever thread drives it).
 */
export function unaryCalls(
  channel: H2Channel,
  clock: Clock,
  o: {
    method: UnaryMethod;
    deadlineMs: number;
    /** The plan's start of measurement (`t0 + warmupMs`): lines' `t_ms` count from it. */
    measureStart: number;
    /** This thread's I/O probe, if one could start. */
    probe?: IoProbe;
  },
): LoopCalls<Done<SteadyLine>> {
  const { method, deadlineMs, measureStart } = o;
  const req = unaryRequest(
    method.path,
    method.request,
    method.metadata,
    deadlineMs,
    channel.authority,
  );
  const call = (_j: number, intended: number, issued: number): Promise<Done<SteadyLine>> =>
    new Promise((resolve) => {
      channel.call(req, deadlineMs, (st) => {
        const done = performance.now();
        resolve({
          line: steadyLine(st, { intended, issued, done, measureStart }),
          valueMs: done - intended,
        });
      });
    });
  return {
    clock,
    launch: call,
    // Calls carry deadlines; this only ends a call that never does (written as CANCELLED).
    abandon: () => channel.cancelAll(),
    boundMs: inFlightBoundMs(deadlineMs),
    burst: BURST,
    probe: o.probe,
  };
}

/** Steady's `#META`. */
function steadyMeta(
  run: SteadyRun,
  plan: Plan,
  startEpochMs: number,
  trace: ConnectionTrace | undefined,
  method: UnaryMethod,
): Meta {
  const total = totalRequests(plan);
  return {
    ...runMeta({ test: "01_steady", ...run, startEpochMs, trace }),
    warmup_s: run.warmupS,
    measure_start_epoch_ms: startEpochMs + plan.warmupMs,
    ...methodMeta(method, run),
    planned_requests: total - warmupRequests(plan),
    connections: run.connections ?? 1,
  };
}

/** What steady's harness spec has whatever runs the calls. */
function steadySpec(
  run: SteadyRun,
  meta: Meta,
  plan: Plan,
): Omit<TestSpec<SteadyLine>, "loop" | "calls"> {
  return {
    test: "01_steady",
    run,
    meta,
    // Poisson: the plan's own rate (its count over its window), which a generator that keeps
    // the plan achieves exactly; constant: the rate over the shards, as before.
    hostRate: plannedRate(plan),
    endFields: (acc) => ({
      histograms: {
        latency_us: encodeHistogram(acc.latency.hist),
        service_us: encodeHistogram(acc.service.hist),
        lag_us: encodeHistogram(acc.lag.hist),
      },
    }),
  };
}

/** The result line of one call (pure). */
function steadyLine(
  st: CallStatus,
  t: {
    intended: number;
    issued: number;
    done: number;
    /** The plan's start of measurement: `t_ms` counts from it. */
    measureStart: number;
  },
): SteadyLine {
  const { intended, issued, done, measureStart } = t;
  // Everything here came from the server: a bad status or trailer is data, never a crash.
  const status = { ...statusName(st.code), details: st.details };
  const ok = status.ok;
  // The server's own time cannot exceed the call's as seen here (it happens inside it).
  const df = handlingTime(st.handling, done - issued);
  // Undefined fields are left out of the JSON; the order is the seed's (ok, code, latency_ms).
  return {
    ok,
    code: status.code,
    latency_ms: r3(done - intended),
    service_ms: r3(done - issued),
    lag_ms: r3(issued - intended),
    t_ms: r3(intended - measureStart),
    df_ms: df.df_ms,
    df_bad: df.df_bad,
    // The server's text, cut: a line stays far under a reader's line limit.
    error: ok ? undefined : cutMessage(
      status.malformed
        ? `malformed status code ${String(st.code)} (${st.details})`
        : status.details,
    ),
  };
}
