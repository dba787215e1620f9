/**
 * One steady run, as it is built once from the options ({@link steadyRunOf}) and passed down
 * unchanged: the harness takes it as its {@link RunContext}, and each thread of `--connections`
 * gets its settings as a structured clone. Also where a run's calls are made
 * ({@link RunChannels}) and the `#META` fields of its method.
 *
 * @module
 */
import type { PacingMode } from "./shared/pacer.ts";
import type { Arrival, Plan } from "./schedule.ts";
import type { UnaryMethod } from "./unary_method.ts";
import type { Target } from "./channel.ts";
import type { Shard } from "./option_parsers.ts";
import type { RunContext, TestSpec } from "./harness.ts";
import type { Meta, SteadyLine } from "./results_format.ts";
import type { ConnectionTrace } from "./tap.ts";
import type { SteadyConfig } from "./settings.ts";
import type { ResultsWriter } from "./record.ts";
import type { Prepared } from "./command_setup.ts";
import { logLine } from "./progress.ts";

/** A steady run's settings: plain data, so a connection's thread gets them as a structured clone. */
export interface SteadySettings {
  target: Target;
  /** Combined rate of all shards, per second. */
  rate: number;
  durationS: number;
  warmupS: number;
  deadlineMs: number;
  connectTimeoutMs: number;
  payload: string;
  out: string;
  /** Replace an earlier complete file instead of moving it aside. */
  overwrite?: boolean;
  shard: Shard;
  /** Epoch ms at which the schedule starts; default: as soon as the channels are ready. */
  startAt?: number;
  /** How the thread that owns a channel waits for the next send. @default DEFAULT_PACING */
  pacing?: PacingMode;
  /**
   * Channels, each driven by its own worker thread with shard k of n of this host's schedule
   * (`connections.ts`). @default 1: one channel, driven on this thread.
   */
  connections?: number;
  /** The method, its request and metadata; default: df's GetScore with `payload`. */
  method?: UnaryMethod;
  /** How request instants are spaced. @default "constant" */
  arrival?: Arrival;
  /** Seed of the Poisson gaps. */
  seed?: number;
}

/** One steady run (one rate): its settings, and its file, signals and callbacks on this thread. */
export interface SteadyRun extends SteadySettings, RunContext {
  /** Aborting (a second SIGINT) cancels the calls still in flight: written as `CANCELLED`. */
  cancel?: AbortSignal;
}

/** A run as it crosses to a connection's thread: its settings, the method resolved. */
export type ClonedRun = SteadySettings & { method: UnaryMethod };

/** `run` without what cannot cross to another thread (its writer, signals and callbacks). */
export function cloneableRun(run: SteadyRun, method: UnaryMethod): ClonedRun {
  const {
    writer: _writer,
    signal: _signal,
    cancel: _cancel,
    onProgress: _onProgress,
    onMeasureStart: _onMeasureStart,
    ...settings
  } = run;
  return { ...settings, method };
}

/**
 * Where a run's calls are made, once connected: one channel on this thread (`steady.ts`), or
 * one on each of N worker threads (`connections.ts`).
 */
export interface RunChannels {
  /** The (first) connection's TLS facts, for `#META`. */
  trace?: ConnectionTrace;
  /** The calls of `plan`, and the plan as the loop runs it over all the channels. */
  callsOf(plan: Plan): Pick<TestSpec<SteadyLine>, "calls" | "loop">;
  /** Cancels the calls in flight now (a second SIGINT): they are written as CANCELLED. */
  cancel(): void;
  /** Closes the pacers and channels (and ends the threads). */
  close(): Promise<void>;
}

/** `#META` fields that name the method and the arrival process. */
export function methodMeta(
  m: UnaryMethod,
  run: Pick<SteadyRun, "arrival" | "seed">,
): Partial<Meta> {
  return {
    method: m.path.slice(1),
    schema: m.schema,
    payload_bytes: m.request.length,
    arrival: run.arrival ?? "constant",
    ...(run.arrival === "poisson" ? { seed: run.seed } : {}),
  };
}

/**
 * One steady run of rate `rate` into `out`, built from the settings (the caller adds the rest):
 * what `steady` and `--find-capacity` run at each rate.
 */
export function steadyRunOf(
  c: SteadyConfig,
  rate: number,
  out: string,
  writer: ResultsWriter,
  ctx: Pick<Prepared, "target" | "display" | "signal" | "cancel"> & {
    method: UnaryMethod;
  },
): SteadyRun {
  return {
    method: ctx.method,
    arrival: c.arrival,
    seed: c.seed,
    writer,
    overwrite: c.overwrite,
    target: ctx.target,
    rate,
    durationS: c.durationS,
    warmupS: c.warmupS,
    deadlineMs: c.deadlineMs,
    connectTimeoutMs: c.connectTimeoutMs,
    payload: c.payload,
    out,
    shard: c.shard,
    connections: c.connections,
    pacing: c.pacing,
    signal: ctx.signal,
    cancel: ctx.cancel,
    onMeasureStart: () => logLine(ctx.display, measuringLine(rate, c.durationS)),
  };
}

/** The line that says measurement has begun: scripts and tests wait for it, not for time. */
function measuringLine(rate: number, durationS: number): string {
  return `smft: measuring at ${rate}/s for ${durationS} s (warm-up over)`;
}
