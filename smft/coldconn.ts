/**
 * Runs one cold-connection test and writes its results file: per attempt, a brand-new channel
 * (new credentials, own subchannel pool, no TLS session to resume), connect -> one GetScore ->
 * close, timed phase by phase.
 *
 * Attempt i starts at t0 + i / rate whatever earlier attempts are doing (open loop); overlaps
 * are counted on each line. Phase times are cumulative from the attempt's start, so
 * t_tcp_ms <= t_tls_ms <= t_h2_ms <= t_connect_ms.
 *
 * @module
 */
import { defaultPayload } from "./option_table.ts";
import type { Shard } from "./option_parsers.ts";
import { methodOf, type UnaryMethod } from "./unary_method.ts";
import { methodMeta } from "./steady_run.ts";
import { IoProbe } from "./io_probe.ts";
import { DEFAULT_PACING, Pacer, type PacingMode } from "./shared/pacer.ts";
import { type Clock, loopPlan } from "./open_loop.ts";
import { type Arrival, intendedAt, type Plan, plannedRate, totalRequests } from "./schedule.ts";
import type { Target } from "./channel.ts";
import { ColdAttempts } from "./cold_attempt.ts";
import { inFlightBoundMs, type RunContext, type RunResult, runTest } from "./harness.ts";
import { makePlan, runMeta } from "./run_meta.ts";
import type { ColdLine, Meta } from "./results_format.ts";
import { PHASES } from "./results_format.ts";
import { encodeHistogram } from "./histogram.ts";

/** One cold-connection run: its settings, and its file, signals and callbacks (`RunContext`). */
export interface ColdRun extends RunContext {
  target: Target;
  /** Combined attempt rate of all shards, per second. */
  rate: number;
  durationS: number;
  /** Stop after this many attempts (this host's), instead of `durationS`. */
  attempts?: number;
  /**
   * Attempts made first, on the same schedule, and not recorded: a process's first attempt also
   * times its own start-up (grpc-js's and TLS's code running for the first time: 84 ms against a
   * 12 ms p50, measured). @default {@link DEFAULT_WARMUP_ATTEMPTS}
   */
  warmupAttempts?: number;
  /** Deadline of each attempt: connect and call together. */
  deadlineMs: number;
  /** The request JSON (default: the 64-feature vector). */
  payload?: string;
  shard: Shard;
  startAt?: number;
  /** Aborting (a second SIGINT) cancels the attempts still in flight: written as `CANCELLED`. */
  cancel?: AbortSignal;
  /** How this thread waits for the next attempt. @default DEFAULT_PACING */
  pacing?: PacingMode;
  /** The method each attempt calls; default: df's GetScore with `payload`. */
  method?: UnaryMethod;
  /** How attempt instants are spaced. @default "constant" */
  arrival?: Arrival;
  /** Seed of the Poisson gaps. */
  seed?: number;
}

/** Unrecorded attempts before the measured ones, unless a run says otherwise. */
const DEFAULT_WARMUP_ATTEMPTS = 1;

/** The outcome of a run. */
export interface ColdResult extends RunResult {
  /** Largest number of attempts in progress at once. */
  maxOverlap: number;
}

/** Runs a cold-connection test and writes its results file. */
export async function runColdconn(run: ColdRun): Promise<ColdResult> {
  const pacer = new Pacer(run.pacing ?? DEFAULT_PACING);
  const probe = await IoProbe.start();
  try {
    await pacer.ready();
    return await measure(run, pacer, probe);
  } finally {
    probe?.close();
    pacer.close();
  }
}

/** This host's share of the run: its plan, warm-up and measured attempts. */
interface ColdPlan {
  plan: Plan;
  startEpochMs: number;
  durationS: number;
  /** Warm-up attempts, and the seconds of this host's schedule they take. */
  warmup: number;
  warmupS: number;
  /** Attempts to start, warm-up included. */
  total: number;
  /** Where measurement begins (`performance.now()` ms). */
  measureStart: number;
}

function coldPlan(run: ColdRun): ColdPlan {
  const hostRate = run.rate / run.shard.count;
  const durationS = run.attempts !== undefined ? run.attempts / hostRate : run.durationS;
  const warmup = run.warmupAttempts ?? DEFAULT_WARMUP_ATTEMPTS;
  // The warm-up is whole attempts of this host's schedule: w of them end where measurement begins.
  const warmupS = warmup / hostRate;
  const { plan, startEpochMs } = makePlan({ ...run, durationS, warmupS });
  if (run.attempts !== undefined && plan.arrival === "poisson") {
    // Poisson instants: the plan lasts until its last attempt, wherever that falls.
    plan.durationMs = intendedAt(plan, warmup + run.attempts - 1) - plan.t0 - plan.warmupMs + 1;
  }
  const total = run.attempts !== undefined ? warmup + run.attempts : totalRequests(plan);
  const measureStart = plan.t0 + plan.warmupMs;
  return { plan, startEpochMs, durationS, warmup, warmupS, total, measureStart };
}

/** The `#META` line of a cold-connection run. */
function coldMeta(run: ColdRun, p: ColdPlan, method: UnaryMethod): Meta {
  return {
    ...runMeta({
      test: "02_coldconn",
      ...run,
      durationS: p.durationS,
      warmupS: p.warmupS,
      startEpochMs: p.startEpochMs,
      attempts: run.attempts,
    }),
    attempts: run.attempts ?? null,
    warmup_attempts: p.warmup,
    planned_attempts: p.total - p.warmup,
    // Every attempt has new credentials and its own SecureContext: nothing to resume.
    resumption: false,
    ...methodMeta(method, run),
  };
}

async function measure(run: ColdRun, pacer: Clock, probe?: IoProbe): Promise<ColdResult> {
  const cold = coldPlan(run);
  const { plan, total, warmup } = cold;
  const method = methodOf({ ...run, payload: run.payload ?? defaultPayload() });
  const meta = coldMeta(run, cold, method);
  const attempts = new ColdAttempts({
    target: run.target,
    deadlineMs: run.deadlineMs,
    method,
    measureStart: cold.measureStart,
  });
  run.cancel?.addEventListener("abort", attempts.abandon, { once: true });
  const result = await runTest<ColdLine>({
    test: "02_coldconn",
    run,
    meta,
    loop: loopPlan(cold, plan, { total, firstMeasured: warmup }),
    hostRate: plannedRate(plan, total),
    calls: {
      clock: pacer,
      launch: attempts.launch,
      onScheduleEnd: attempts.endScheduling,
      // Attempts carry their own deadline; this only ends one that never settles.
      abandon: attempts.abandon,
      boundMs: inFlightBoundMs(run.deadlineMs),
      burst: Infinity,
      probe,
    },
    endFields: (acc, totals) => {
      const histograms: Record<string, string> = {};
      for (const p of PHASES) {
        const s = acc.phases.get(p);
        if (s) histograms[`t_${p}_us`] = encodeHistogram(s.hist);
      }
      return {
        failed_by_phase: acc.failedByPhase,
        max_overlap: totals.maxInflight,
        histograms,
      };
    },
  });
  return { ...result, maxOverlap: result.maxInflight };
}
