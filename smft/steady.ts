/**
 * `smft steady`: schedule -> call -> record, open loop over one reused channel.
 *
 * Every request has three instants on one monotonic clock: `intended` (the plan), `issued`
 * (the call was made) and `done` (its status arrived). Latency is done − intended, so a stall
 * of the generator shows up in the figures instead of hiding (no coordinated omission).
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import {
  encodeJsonVector,
  GET_SCORE_PATH,
  HANDLING_METADATA_KEY,
  passBytes,
} from "../proto/score.ts";
import { PreciseTimer, SMFT_TIMER } from "./shared/precise_timer.ts";
import { totalRequests, warmupRequests } from "./schedule.ts";
import {
  type Channel,
  type ConnectCause,
  connectOrFail,
  explainTlsError,
  isCertificateVerifyError,
  openChannel,
  type Target,
  targetString,
} from "./channel.ts";
import { handlingTime, r3, statusName } from "./results_format.ts";
import type { ResultsWriter } from "./record.ts";
import { encodeHistogram } from "./histogram.ts";
import type { Shard } from "./options.ts";
import { type Done, makePlan, runMeta, type RunResult, runTest } from "./harness.ts";
import type { Progress } from "./open_loop.ts";
import type { Meta, SteadyLine } from "./results_format.ts";

/** One steady run (one rate). */
export interface SteadyRun {
  target: Target;
  /** Combined rate of all shards, per second. */
  rate: number;
  durationS: number;
  warmupS: number;
  deadlineMs: number;
  connectTimeoutMs: number;
  payload: string;
  out: string;
  /** The results file, reserved before anything was sent. */
  writer?: ResultsWriter;
  /** Replace an earlier complete file instead of moving it aside. */
  overwrite?: boolean;
  shard: Shard;
  /** Epoch ms at which the schedule starts; default: as soon as the channel is ready. */
  startAt?: number;
  /** Aborting stops scheduling; calls in flight finish (bounded) and the file is completed. */
  signal?: AbortSignal;
  /** Called once a second. */
  onProgress?: (p: Progress) => void;
  /** Called when the warm-up is over and the first measured call goes out. */
  onMeasureStart?: () => void;
}

/** The outcome of a run. */
export type SteadyResult = RunResult;

/** Thrown when df cannot be reached before the run starts. */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

/** Largest number of calls issued in one turn of the event loop when catching up. */
const BURST = 256;

/** Runs one steady test and writes its results file. */
export async function runSteady(run: SteadyRun): Promise<SteadyResult> {
  const channel: Channel = openChannel(run.target);
  const { client } = channel;
  const timer = new PreciseTimer(SMFT_TIMER);
  try {
    await timer.ready();
    const t0 = performance.now();
    try {
      await connectOrFail(channel, run.target, run.connectTimeoutMs);
    } catch (e) {
      const trace = channel.trace;
      const cause = (e as Error).cause as ConnectCause | undefined;
      const after = `after ${(performance.now() - t0).toFixed(0)} ms`;
      // A certificate or TLS-version failure gets its explanation (what is wrong with df's
      // certificate, or that df does not offer TLS 1.3); other causes are named as they are.
      const why = trace?.tlsError && trace.tlsDone === undefined &&
          (isCertificateVerifyError(trace.tlsError) ||
            /ProtocolVersion|Tls12|protocol version/i.test(trace.tlsError))
        ? await explainTlsError(trace.tlsError, run.target)
        : (e as Error).message;
      throw new UnreachableError(
        `cannot reach df at ${targetString(run.target)} within ${run.connectTimeoutMs} ms: ${why}${
          cause?.certain ? ` (${after}, certain: not retried)` : ""
        }`,
      );
    }
    return await measure(run, channel, timer);
  } finally {
    timer.close();
    client.close();
  }
}

async function measure(
  run: SteadyRun,
  channel: Channel,
  timer: PreciseTimer,
): Promise<SteadyResult> {
  const { client, trace } = channel;
  const payload = encodeJsonVector(run.payload);
  const metadata = new grpc.Metadata();
  const { plan, startEpochMs } = makePlan(run);
  const total = totalRequests(plan);
  const firstMeasured = warmupRequests(plan);
  const measureStart = plan.t0 + plan.warmupMs;
  const meta: Meta = {
    ...runMeta({ test: "01_steady", ...run, startEpochMs, trace, warmupS: run.warmupS }),
    warmup_s: run.warmupS,
    measure_start_epoch_ms: startEpochMs + plan.warmupMs,
    payload_bytes: payload.length,
    planned_requests: total - firstMeasured,
  };
  const active = new Set<grpc.ClientUnaryCall>();
  const noop = () => {};

  /** One call: resolves with its line when its status arrives. */
  const call = (_j: number, intended: number, issued: number): Promise<Done<SteadyLine>> =>
    new Promise((resolve) => {
      const c = client.makeUnaryRequest(
        GET_SCORE_PATH,
        passBytes,
        passBytes,
        payload,
        metadata,
        { deadline: Date.now() + run.deadlineMs },
        noop,
      );
      active.add(c);
      c.on("status", (st: grpc.StatusObject) => {
        const done = performance.now();
        active.delete(c);
        resolve({
          line: steadyLine(st, intended, issued, done, measureStart),
          valueMs: done - intended,
        });
      });
    });

  return await runTest<SteadyLine>({
    test: "01_steady",
    out: run.out,
    writer: run.writer,
    overwrite: run.overwrite,
    meta,
    plan,
    total,
    firstMeasured,
    hostRate: run.rate / run.shard.count,
    clock: timer,
    signal: run.signal,
    launch: call,
    // Calls carry deadlines; this only ends a call that never does (written as CANCELLED).
    abandon: () => active.forEach((c) => c.cancel()),
    boundMs: run.deadlineMs + 2000,
    burst: BURST,
    warmupS: run.warmupS,
    totalS: run.warmupS + run.durationS,
    onMeasureStart: run.onMeasureStart,
    onProgress: run.onProgress,
    endFields: (acc) => ({
      histograms: {
        latency_us: encodeHistogram(acc.latency.hist),
        service_us: encodeHistogram(acc.service.hist),
        lag_us: encodeHistogram(acc.lag.hist),
      },
    }),
  });
}

/** The result line of one call (pure). */
export function steadyLine(
  st: Pick<grpc.StatusObject, "code" | "details" | "metadata">,
  intended: number,
  issued: number,
  done: number,
  measureStart: number,
): SteadyLine {
  // Everything here came from the server: a bad status or trailer is data, never a crash.
  const status = statusName(st.code);
  const ok = status.ok;
  const df = handlingTime(st.metadata?.get(HANDLING_METADATA_KEY));
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
    error: ok
      ? undefined
      : status.malformed
      ? `malformed status code ${String(st.code)} (${st.details})`
      : st.details,
  };
}
