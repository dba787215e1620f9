/**
 * The one test harness: from a test's plan and its "one call" (or "one attempt"), it runs the
 * open loop and owns everything around it: the results file, the accumulator, the achieved
 * rate, the run's own verdict and `#END`. `steady.ts` and `coldconn.ts` only say how to make one
 * call and what line it writes.
 *
 * @module
 */
import { intendedAt, warmupRequests } from "./schedule.ts";
import { Accumulator, type Summary } from "./summary.ts";
import type { ColdLine, End, Meta, SteadyLine, TestName } from "./results_format.ts";
import { r3 } from "./results_format.ts";
import { encodeHistogram, withDecoded } from "./histogram.ts";
import { pressurePct, readCpuPressure } from "./host_pressure.ts";
import { ResultsWriter } from "./record.ts";
import type { Placement } from "./results_path.ts";
import { achievedRate, judgeOutcome, judgeRun, type RunVerdict } from "./verdict.ts";
import { ResourceMeter } from "./run_meta.ts";
import {
  type Done,
  type LoopCalls,
  type LoopPlan,
  type LoopTotals,
  type Progress,
  runOpenLoop,
} from "./open_loop.ts";

/** What a run of either test hands back. */
export interface RunResult {
  file: string;
  summary: Summary;
  acc: Accumulator;
  verdict: RunVerdict;
  interrupted: boolean;
  meta: Meta;
  end: End;
  /** Most requests (or attempts) in flight at once. */
  maxInflight: number;
  /** Where the file ended up, and an earlier file moved aside or replaced. */
  placement: Placement;
}

/** What calls made elsewhere (worker threads) report back while they run. */
export interface DriveSink<L> {
  /** A measured call's result line. */
  line(l: L): void;
  progress(p: Progress): void;
  /** The first measured call went out. */
  measureStart(): void;
}

/** Calls made elsewhere: `drive` runs them all and returns what the loops counted. */
export interface DrivenCalls<L> {
  drive: (sink: DriveSink<L>, signal: AbortSignal) => Promise<LoopTotals>;
}

/**
 * What the harness takes from a run as it is: where its results go, what stops it, whom it
 * tells (`SteadyRun` and `ColdRun` extend it).
 */
export interface RunContext {
  out: string;
  /** The results file, reserved before the run sent anything (else reserved here). */
  writer?: ResultsWriter;
  /** Replace an earlier complete file instead of moving it aside. */
  overwrite?: boolean;
  /** Aborting stops scheduling; calls in flight finish (bounded) and the file is completed. */
  signal?: AbortSignal;
  /** Called when the warm-up is over and the first measured call goes out. */
  onMeasureStart?: () => void;
  /** Called once a second. */
  onProgress?: (p: Progress) => void;
}

/** A test, as the harness needs it. */
export interface TestSpec<L extends SteadyLine | ColdLine> {
  test: TestName;
  run: RunContext;
  meta: Meta;
  /**
   * Its plan as the loop runs it (`loopPlan`, `open_loop.ts`); `total` and `firstMeasured` are
   * sums over the connections when the calls are driven elsewhere.
   */
  loop: LoopPlan;
  /** This host's share of the rate, per second. */
  hostRate: number;
  /** Who makes the calls: an open loop here, or a driver of worker threads. */
  calls: LoopCalls<Done<L>> | DrivenCalls<L>;
  /** The test's own `#END` fields: histograms and anything else it counts. */
  endFields: (acc: Accumulator, totals: LoopTotals) => Pick<End, "histograms"> & Partial<End>;
}

/** `#END`'s own-delay fields: the figures, and the read side's histogram and window to merge. */
function ownDelayFields(acc: Accumulator, summary: Summary): Partial<End> {
  const d = summary.ownDelay;
  if (!d) return {};
  return {
    own_delay: {
      send_p50_ms: r3(d.sendP50),
      send_p99_ms: r3(d.sendP99),
      ...(d.readP99 !== undefined
        ? { read_p50_ms: r3(d.readP50 ?? 0), read_p99_ms: r3(d.readP99) }
        : {}),
      ...(d.ioP99 !== undefined
        ? { io_p50_ms: r3(d.ioP50 ?? 0), io_p99_ms: r3(d.ioP99), io_samples: d.ioSamples }
        : {}),
      ...(d.moves
        ? {
          moves_send_p50_ms: r3(d.moves.sendP50),
          moves_send_p99_ms: r3(d.moves.sendP99),
          moves_read_p50_ms: r3(d.moves.readP50),
          moves_read_p99_ms: r3(d.moves.readP99),
        }
        : {}),
    },
    ...(acc.readGaps ? { read_window_ms: r3(acc.readWindowMs) } : {}),
  };
}

/**
 * How long calls (or attempts) in flight may take after the plan ends before they are
 * abandoned: their own deadline and some slack.
 */
export function inFlightBoundMs(deadlineMs: number): number {
  return deadlineMs + 2000;
}

/**
 * Runs a test to its end (or an interrupt) and writes its results file: `#TEST`, `#META`, a line
 * per measured result, `#END` with the verdict.
 */
export async function runTest<L extends SteadyLine | ColdLine>(
  spec: TestSpec<L>,
): Promise<RunResult> {
  const run = spec.run;
  const writer = run.writer ?? ResultsWriter.reserve(run.out, spec.test);
  writer.begin(spec.meta);
  // A write error stops the run like a signal would; the run then ends with that error.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (run.signal?.aborted) stop.abort();
  run.signal?.addEventListener("abort", onAbort, { once: true });
  writer.onFail = () => stop.abort();
  const acc = new Accumulator(spec.test);
  const meter = new ResourceMeter();
  const { plan, total, firstMeasured } = spec.loop;
  // The host's CPU pressure over the measurement (the warm-up is not the run's).
  let pressure0: ReturnType<typeof readCpuPressure>;
  const measureStarted = () => {
    pressure0 = readCpuPressure();
    run.onMeasureStart?.();
  };
  const record = (line: L) => {
    if (writer.failed) return;
    writer.line(JSON.stringify(line));
    acc.add(line);
  };
  const onProgress = (p: Progress) => {
    meter.sample();
    run.onProgress?.(p);
  };
  const calls = spec.calls;
  const totals = "drive" in calls
    ? await calls.drive(
      { line: record, progress: onProgress, measureStart: measureStarted },
      stop.signal,
    )
    : await runOpenLoop(spec.loop, calls, {
      signal: stop.signal,
      onMeasureStart: measureStarted,
      onProgress,
      record,
    });
  run.signal?.removeEventListener("abort", onAbort);
  if (writer.failed) throw writer.failed;
  const interrupted = run.signal?.aborted ?? false;
  // The window opens at this host's first due call, not at the measurement's start: a shard's
  // first turn comes later (shard 2/2 at 10/s: 0.1 s), and that is not the generator's delay.
  const firstDue = intendedAt(plan, warmupRequests(plan));
  const achieved = achievedRate({
    issued: totals.measuredSent,
    firstDue,
    lastIssued: totals.lastIssuedMeasured,
    hostRate: spec.hostRate,
  });
  for (const g of totals.readGaps) withDecoded(g.hist, (h) => acc.addReadGaps(h, g.windowMs));
  for (const p of totals.ioProbes) withDecoded(p, (h) => acc.addIoProbe(h));
  for (const p of totals.ioProbeRtts) withDecoded(p, (h) => acc.addIoProbe(h, "rtt"));
  const summary = acc.summary(achieved.windowS > 0 ? achieved.windowS : undefined);
  const pressure1 = readCpuPressure();
  const hostPressure = pressure0 && pressure1 ? pressurePct(pressure0, pressure1) : undefined;
  // Judged against the figures users read: steady's latency, coldconn's total attempt time.
  const judged = spec.test === "01_steady" ? summary.latency : summary.phases?.total;
  const judgedRun = judgeRun({
    targetRate: spec.hostRate,
    achievedRate: achieved.rate,
    calls: totals.measuredSent,
    interrupted,
    own: summary.ownDelay,
    latency: judged ? { p50: judged.p50, p99: judged.p99 } : undefined,
    hostPressurePct: hostPressure,
    spinBesideServer: spec.test === "01_steady" && spec.meta.pacing === "spin" &&
      spec.meta.server_on_this_host === true,
  });
  const verdict = judgeOutcome(judgedRun, acc.ok, acc.total - acc.ok);
  const clamped = acc.clampedValues();
  const end: End = {
    count: writer.lines,
    ok: acc.ok,
    errors: Object.fromEntries(Object.entries(acc.byCode).filter(([k]) => k !== "OK")),
    interrupted,
    planned: total - firstMeasured,
    sent: totals.measuredSent,
    elapsed_s: r3(achieved.windowS),
    achieved_rps: r3(achieved.rate),
    valid: verdict.valid,
    verdict_calls: totals.measuredSent,
    lag_judged: verdict.lagJudged,
    verdict_reasons: verdict.reasons,
    bad_trailers: acc.badTrailers,
    ...ownDelayFields(acc, summary),
    ...(hostPressure !== undefined ? { host_cpu_pressure_pct: r3(hostPressure) } : {}),
    ...(clamped > 0 ? { clamped_values: clamped } : {}),
    ...meter.figures(),
    ...spec.endFields(acc, totals),
  };
  if (acc.readGaps) end.histograms.read_gap_us = encodeHistogram(acc.readGaps);
  if (acc.ioProbe) end.histograms.io_probe_us = encodeHistogram(acc.ioProbe);
  if (acc.ioProbeRtt) end.histograms.io_probe_rtt_us = encodeHistogram(acc.ioProbeRtt);
  // This process's CPU per call over the whole run (warm-up included, and so its calls).
  end.cpu_us_per_call = totals.sent > 0 ? Math.round(end.cpu_s * 1e6 / totals.sent) : undefined;
  // What the loops' threads allocated per measured call, and how many turns their pacers spun
  // for one (a spinning turn allocates ~0.7 KB of its own: Deno's setImmediate). From the first
  // measured call on, as the floor counts it: start-up and warm-up allocate ~130 MB of their own
  // (modules, the compiler's first passes), which per call would say more about a run's length.
  if (totals.measuredSent > 0) {
    end.alloc_kb_per_call = r3(totals.allocatedBytes / 1024 / totals.measuredSent);
    end.spins_per_call = Math.round(totals.spins / totals.measuredSent);
  }
  const placement = writer.finish(end, { overwrite: run.overwrite });
  return {
    file: placement.path,
    summary,
    acc,
    verdict,
    interrupted,
    meta: spec.meta,
    end,
    maxInflight: totals.maxInflight,
    placement,
  };
}
