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
import { PreciseTimer } from "./shared/precise_timer.ts";
import { intendedAt, totalRequests, warmupRequests } from "./schedule.ts";
import {
  type Channel,
  connectFailure,
  explainTlsError,
  openChannel,
  refusedAfterHandshake,
  type Target,
  targetString,
  waitReady,
} from "./channel.ts";
import { ResultsWriter } from "./record.ts";
import { r3 } from "./results_format.ts";
import { Accumulator } from "./summary.ts";
import { encodeHistogram } from "./histogram.ts";
import type { Shard } from "./options.ts";
import { commonMeta, makePlan, OpenLoop, type Progress, type RunResult } from "./run.ts";
import { achievedRate, judgeRun } from "./verdict.ts";

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
  shard: Shard;
  /** Epoch ms at which the schedule starts; default: as soon as the channel is ready. */
  startAt?: number;
  /** Aborting stops scheduling; calls in flight finish (bounded) and the file is completed. */
  signal?: AbortSignal;
  /** Called once a second. */
  onProgress?: (p: Progress) => void;
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
  const timer = new PreciseTimer();
  try {
    await timer.ready();
    try {
      await waitReady(client, run.connectTimeoutMs);
    } catch (e) {
      const trace = channel.trace;
      throw new UnreachableError(
        `cannot reach df at ${targetString(run.target)} within ${run.connectTimeoutMs} ms: ${
          trace?.tlsError && !refusedAfterHandshake(trace)
            ? await explainTlsError(trace.tlsError, run.target)
            : connectFailure((e as Error).message, trace)
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
  const t0 = plan.t0;
  const total = totalRequests(plan);
  const firstMeasured = warmupRequests(plan);
  const measureStart = t0 + plan.warmupMs;
  const hostRate = run.rate / run.shard.count;

  const meta = {
    ...commonMeta({ test: "01_steady", ...run, startEpochMs, trace }),
    warmup_s: run.warmupS,
    measure_start_epoch_ms: startEpochMs + plan.warmupMs,
    payload_bytes: payload.length,
    planned_requests: total - firstMeasured,
  };
  const writer = ResultsWriter.open(run.out, "01_steady", meta);
  const acc = new Accumulator("01_steady");

  let lastIssuedMeasured = measureStart;
  const active = new Set<grpc.ClientUnaryCall>();
  const noop = () => {};

  const issue = (j: number) => {
    const intended = intendedAt(plan, j);
    const issued = performance.now();
    const measured = j >= firstMeasured;
    if (measured) lastIssuedMeasured = issued;
    loop.began(issued - intended);
    const call = client.makeUnaryRequest(
      GET_SCORE_PATH,
      passBytes,
      passBytes,
      payload,
      metadata,
      { deadline: Date.now() + run.deadlineMs },
      noop,
    );
    active.add(call);
    call.on("status", (st: grpc.StatusObject) => {
      const done = performance.now();
      active.delete(call);
      const success = st.code === grpc.status.OK;
      const latency = done - intended;
      if (measured) {
        const rec: Record<string, unknown> = { ok: success };
        if (!success) rec.code = grpc.status[st.code] ?? String(st.code);
        rec.latency_ms = r3(latency);
        rec.service_ms = r3(done - issued);
        rec.lag_ms = r3(issued - intended);
        rec.t_ms = r3(intended - measureStart);
        const dfUs = st.metadata?.get(HANDLING_METADATA_KEY)[0];
        if (dfUs !== undefined) rec.df_ms = Number(dfUs) / 1000;
        if (!success) rec.error = st.details;
        writer.line(JSON.stringify(rec));
        acc.add(rec);
      }
      loop.ended(success, latency);
    });
  };

  const loop = new OpenLoop({
    plan,
    total,
    timer,
    signal: run.signal,
    launch: issue,
    // Calls carry deadlines; this only ends a call that never does (written as CANCELLED).
    abandon: () => active.forEach((c) => c.cancel()),
    boundMs: run.deadlineMs + 2000,
    burst: BURST,
    warmupS: run.warmupS,
    totalS: run.warmupS + run.durationS,
    onProgress: run.onProgress,
  });
  const { interrupted } = await loop.run();
  const { meter, sent } = loop;

  const measuredSent = Math.max(0, sent - firstMeasured);
  const achieved = achievedRate(measuredSent, measureStart, lastIssuedMeasured, hostRate);
  const summary = acc.summary(achieved.windowS > 0 ? achieved.windowS : undefined);
  const verdict = judgeRun(hostRate, achieved.rate, summary.lag?.p99 ?? 0);
  const end = {
    ok: acc.ok,
    errors: Object.fromEntries(Object.entries(acc.byCode).filter(([k]) => k !== "OK")),
    interrupted,
    planned: total - firstMeasured,
    sent: measuredSent,
    elapsed_s: r3(achieved.windowS),
    achieved_rps: r3(achieved.rate),
    valid: verdict.valid,
    ...meter.figures(),
    histograms: {
      latency_us: encodeHistogram(acc.latency.hist),
      service_us: encodeHistogram(acc.service.hist),
      lag_us: encodeHistogram(acc.lag.hist),
    },
  };
  writer.finish(end);
  return { file: run.out, summary, acc, verdict, interrupted, meta, end };
}
