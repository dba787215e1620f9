/**
 * `smft coldconn`: per attempt, a brand-new channel (new credentials, own subchannel pool, no
 * TLS session to resume), connect -> one GetScore -> close, timed phase by phase.
 *
 * Attempt i starts at t0 + i / rate whatever earlier attempts are doing (open loop); overlaps
 * are counted on each line. Phase times are cumulative from the attempt's start, so
 * t_tcp_ms <= t_tls_ms <= t_h2_ms <= t_connect_ms.
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
import { defaultPayload, type Shard } from "./options.ts";
import { PreciseTimer } from "./shared/precise_timer.ts";
import { intendedAt, totalRequests } from "./schedule.ts";
import { connectFailure, explainTlsError, openChannel, type Target } from "./channel.ts";
import type { ConnectionTrace } from "./tap.ts";
import { ResultsWriter } from "./record.ts";
import { r3 } from "./results_format.ts";
import { commonMeta, makePlan, OpenLoop, type Progress, type RunResult } from "./run.ts";
import { achievedRate, judgeRun } from "./verdict.ts";
import { Accumulator } from "./summary.ts";
import { PHASES } from "./results_format.ts";
import { encodeHistogram } from "./histogram.ts";

/** One cold-connection run. */
export interface ColdRun {
  target: Target;
  /** Combined attempt rate of all shards, per second. */
  rate: number;
  durationS: number;
  /** Stop after this many attempts (this host's), instead of `durationS`. */
  attempts?: number;
  /** Deadline of each attempt: connect and call together. */
  deadlineMs: number;
  out: string;
  shard: Shard;
  startAt?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** The outcome of a run. */
export interface ColdResult extends RunResult {
  /** Largest number of attempts in progress at once. */
  maxOverlap: number;
}

/** How far an attempt got: the first phase it did not complete. */
export function failedPhase(t: ConnectionTrace, ready: boolean): string {
  if (ready) return "rpc";
  if (t.tcpStart === undefined) return "dns";
  if (t.tcpDone === undefined) return "tcp";
  if (t.tlsDone === undefined) return "tls";
  if (t.h2Done === undefined) return "h2";
  return "connect";
}

/** Ends when the channel is READY, fails, or the deadline passes. */
function connect(client: grpc.Client, deadline: number): Promise<"ready" | "failed" | "deadline"> {
  const channel = client.getChannel();
  return new Promise((resolve) => {
    const check = () => {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return resolve("ready");
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) return resolve("failed");
      if (state === grpc.connectivityState.SHUTDOWN) return resolve("failed");
      if (Date.now() >= deadline) return resolve("deadline");
      channel.watchConnectivityState(state, deadline, (err) => err ? resolve("deadline") : check());
    };
    check();
  });
}

/** Runs a cold-connection test and writes its results file. */
export async function runColdconn(run: ColdRun): Promise<ColdResult> {
  const timer = new PreciseTimer();
  await timer.ready();
  try {
    return await measure(run, timer);
  } finally {
    timer.close();
  }
}

async function measure(run: ColdRun, timer: PreciseTimer): Promise<ColdResult> {
  const hostRate = run.rate / run.shard.count;
  const durationS = run.attempts !== undefined ? run.attempts / hostRate : run.durationS;
  const { plan, startEpochMs } = makePlan({ ...run, durationS, warmupS: 0 });
  const total = run.attempts ?? totalRequests(plan);
  const payload = encodeJsonVector(defaultPayload());
  const meta = {
    ...commonMeta({ test: "02_coldconn", ...run, durationS, startEpochMs }),
    attempts: run.attempts ?? null,
    planned_attempts: total,
    // Every attempt has new credentials and its own SecureContext: nothing to resume.
    resumption: false,
    payload_bytes: payload.length,
  };
  const writer = ResultsWriter.open(run.out, "02_coldconn", meta);
  const acc = new Accumulator("02_coldconn");
  let lastIssued = plan.t0;
  const attemptsRunning = new Set<grpc.Client>();
  // A certificate problem is the same on every attempt: look into it once per distinct error.
  const explanations = new Map<string, Promise<string>>();
  const explain = (message: string) => {
    let p = explanations.get(message);
    if (!p) explanations.set(message, p = explainTlsError(message, run.target, 1000));
    return p;
  };

  // Each attempt's channel and credentials are built before its start (an idle channel makes no
  // connection), so the phase times count connecting, not parsing PEM files (~0.35 ms).
  const prepare = () =>
    openChannel(run.target, { "grpc.max_reconnect_backoff_ms": run.deadlineMs });
  let prepared: ReturnType<typeof prepare> | undefined;

  const attempt = async (j: number) => {
    const { client, trace = {} } = prepared ?? prepare();
    prepared = undefined;
    const intended = intendedAt(plan, j);
    const start = performance.now();
    lastIssued = start;
    const overlap = loop.began(start - intended);
    const deadline = Date.now() + run.deadlineMs;
    attemptsRunning.add(client);
    // Written whatever happens below, so that no attempt goes missing.
    const rec: Record<string, unknown> = { ok: false };
    let totalMs: number | undefined;
    try {
      const state = await connect(client, deadline);
      const ready = performance.now();
      let status: grpc.StatusObject | undefined;
      if (state === "ready") {
        status = await new Promise<grpc.StatusObject>((resolve) => {
          const call = client.makeUnaryRequest(
            GET_SCORE_PATH,
            passBytes,
            passBytes,
            payload,
            new grpc.Metadata(),
            { deadline },
            () => {},
          );
          call.on("status", resolve);
        });
      }
      const done = performance.now();
      const success = status?.code === grpc.status.OK;
      rec.ok = success;
      if (!success) {
        const phase = failedPhase(trace, state === "ready");
        rec.phase = phase;
        rec.code = status
          ? grpc.status[status.code]
          : state === "deadline"
          ? "DEADLINE_EXCEEDED"
          : "UNAVAILABLE";
        rec.error = phase === "tls" && trace.tlsError
          ? await explain(trace.tlsError)
          : phase === "rpc"
          ? status?.details ?? "call failed"
          : connectFailure(`channel ${state}`, trace);
      }
      if (state === "ready") {
        rec.t_connect_ms = r3(ready - start);
        rec.t_first_rpc_ms = r3(done - ready);
      }
      totalMs = done - start;
      rec.t_total_ms = r3(totalMs);
      const at = (t?: number) => t === undefined ? undefined : r3(t - start);
      rec.t_dns_ms = at(trace.tcpStart);
      rec.t_tcp_ms = at(trace.tcpDone);
      rec.t_tls_ms = at(trace.tlsDone);
      rec.t_h2_ms = at(trace.h2Done);
      rec.tls = trace.tlsVersion;
      rec.cipher = trace.cipher;
      rec.alpn = trace.alpn;
      rec.resumed = trace.resumed;
      rec.peer_subject = trace.peerSubject;
      rec.overlap = overlap;
      const dfUs = status?.metadata?.get(HANDLING_METADATA_KEY)[0];
      if (dfUs !== undefined) rec.df_ms = Number(dfUs) / 1000;
    } catch (e) {
      rec.phase ??= "unknown";
      rec.code ??= "UNKNOWN";
      rec.error = `smft: ${(e as Error).message}`;
    } finally {
      client.close();
      attemptsRunning.delete(client);
      rec.t_ms = r3(intended - plan.t0);
      rec.lag_ms = r3(start - intended);
      writer.line(JSON.stringify(rec));
      acc.add(rec);
      loop.ended(rec.ok === true, totalMs);
    }
  };

  const loop = new OpenLoop({
    plan,
    total,
    timer,
    signal: run.signal,
    launch: attempt,
    afterTick: () => prepared ??= prepare(),
    onScheduleEnd: () => {
      prepared?.client.close();
      prepared = undefined;
    },
    // Attempts carry their own deadline; this only ends one that never settles.
    abandon: () => attemptsRunning.forEach((c) => c.close()),
    boundMs: run.deadlineMs + 2000,
    burst: Infinity,
    warmupS: 0,
    totalS: durationS,
    onProgress: run.onProgress,
  });
  const { interrupted } = await loop.run();
  const { meter, sent, maxInflight: maxOverlap } = loop;

  const achieved = achievedRate(sent, plan.t0, lastIssued, hostRate);
  const summary = acc.summary(achieved.windowS > 0 ? achieved.windowS : undefined);
  const verdict = judgeRun(hostRate, achieved.rate, summary.lag?.p99 ?? 0);
  const histograms: Record<string, string> = {};
  for (const p of PHASES) {
    const s = acc.phases.get(p);
    if (s) histograms[`t_${p}_us`] = encodeHistogram(s.hist);
  }
  const end = {
    ok: acc.ok,
    errors: Object.fromEntries(Object.entries(acc.byCode).filter(([k]) => k !== "OK")),
    failed_by_phase: acc.failedByPhase,
    interrupted,
    planned: total,
    sent,
    max_overlap: maxOverlap,
    elapsed_s: r3(achieved.windowS),
    achieved_rps: r3(achieved.rate),
    valid: verdict.valid,
    ...meter.figures(),
    histograms,
  };
  writer.finish(end);
  return { file: run.out, summary, acc, verdict, interrupted, meta, end, maxOverlap };
}
