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
import { encodeJsonVector, GET_SCORE_PATH, passBytes } from "../proto/score.ts";
import { HANDLING_METADATA_KEY } from "../df/server.ts";
import { PreciseTimer } from "./precise_timer.ts";
import { intendedAt, pace, totalRequests, warmupRequests } from "./schedule.ts";
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
import { r3, ResultsWriter } from "./record.ts";
import { Accumulator, type Summary } from "../tools/summary.ts";
import { encodeHistogram, Series } from "../tools/histogram.ts";
import type { Shard } from "./options.ts";
import {
  achievedRate,
  commonMeta,
  judgeRun,
  makePlan,
  type Progress,
  ResourceMeter,
  type RunVerdict,
} from "./run.ts";

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
export interface SteadyResult {
  file: string;
  summary: Summary;
  acc: Accumulator;
  verdict: RunVerdict;
  interrupted: boolean;
  meta: Record<string, unknown>;
  end: Record<string, unknown>;
}

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
            : connectFailure(e as Error, trace)
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

  // Live figures for the progress line, reset every second.
  const window = { issued: 0, latency: new Series(false), lag: new Series(false) };
  let ok = 0;
  let errors = 0;
  let inflight = 0;
  let sent = 0;
  let lastIssuedMeasured = measureStart;
  const active = new Set<grpc.ClientUnaryCall>();
  const scheduleEnded = Promise.withResolvers<void>();
  const drained = Promise.withResolvers<void>();
  let scheduling = true;
  const noop = () => {};

  const issue = (j: number) => {
    const intended = intendedAt(plan, j);
    const issued = performance.now();
    const measured = j >= firstMeasured;
    if (measured) lastIssuedMeasured = issued;
    inflight++;
    window.issued++;
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
      inflight--;
      const success = st.code === grpc.status.OK;
      if (success) ok++;
      else errors++;
      const latency = done - intended;
      const lag = issued - intended;
      if (success) window.latency.record(latency);
      window.lag.record(lag);
      if (measured) {
        const rec: Record<string, unknown> = { ok: success };
        if (!success) rec.code = grpc.status[st.code] ?? String(st.code);
        rec.latency_ms = r3(latency);
        rec.service_ms = r3(done - issued);
        rec.lag_ms = r3(lag);
        rec.t_ms = r3(intended - measureStart);
        const dfUs = st.metadata?.get(HANDLING_METADATA_KEY)[0];
        if (dfUs !== undefined) rec.df_ms = Number(dfUs) / 1000;
        if (!success) rec.error = st.details;
        writer.line(JSON.stringify(rec));
        acc.add(rec);
      }
      if (!scheduling && inflight === 0) drained.resolve();
    });
  };

  const finishScheduling = () => {
    if (!scheduling) return;
    scheduling = false;
    scheduleEnded.resolve();
    if (inflight === 0) drained.resolve();
  };

  const tick = () => {
    if (run.signal?.aborted) return finishScheduling();
    const now = performance.now();
    const { send, nextAt } = pace(plan, now, sent);
    // Everything owed goes out, in bursts so that responses keep flowing during a catch-up.
    const burst = Math.min(send, BURST);
    for (let i = 0; i < burst; i++) issue(sent++);
    if (nextAt === undefined && send === burst) return finishScheduling();
    timer.at(send > burst ? now : nextAt!, tick);
  };
  timer.at(t0, tick);
  run.signal?.addEventListener("abort", finishScheduling, { once: true });

  // Progress and resource figures, once a second.
  const meter = new ResourceMeter();
  const totalS = run.warmupS + run.durationS;
  const progress = setInterval(() => {
    meter.sample();
    const elapsed = (performance.now() - t0) / 1000;
    run.onProgress?.({
      phase: !scheduling ? "draining" : elapsed < run.warmupS ? "warm-up" : "measure",
      elapsedS: Math.max(0, Math.min(elapsed, totalS)),
      totalS,
      rate: window.issued,
      inflight,
      ok,
      errors,
      p50: window.latency.count ? window.latency.stat().p50 : 0,
      p99: window.latency.count ? window.latency.stat().p99 : 0,
      lagP99: window.lag.count ? window.lag.stat().p99 : 0,
    });
    window.issued = 0;
    window.latency.reset();
    window.lag.reset();
  }, 1000);

  try {
    // The plan completes (or is interrupted); then calls in flight finish. They carry
    // deadlines, so the bound only guards against a call that never ends: it is cancelled,
    // and written as CANCELLED.
    await scheduleEnded.promise;
    let bound: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((r) =>
      bound = setTimeout(() => r(true), run.deadlineMs + 2000)
    );
    if (await Promise.race([drained.promise.then(() => false), late])) {
      for (const c of active) c.cancel();
      await Promise.race([drained.promise, new Promise((r) => setTimeout(r, 500))]);
    }
    clearTimeout(bound);
  } finally {
    clearInterval(progress);
    window.latency.destroy();
    window.lag.destroy();
  }

  const interrupted = run.signal?.aborted ?? false;
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
