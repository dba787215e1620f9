/**
 * One steady run, as it is built once from the options and passed down unchanged: the harness
 * takes it as its {@link RunContext}, and each thread of `--connections` gets its settings as a
 * structured clone. Also what every path needs of a run before its calls: the method it calls,
 * and its channel connected.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { encodeJsonVector, GET_SCORE_PATH } from "../proto/score.ts";
import type { PacingMode } from "./shared/pacer.ts";
import type { Arrival, Plan } from "./schedule.ts";
import type { UnaryMethod } from "./method.ts";
import {
  type Channel,
  type ConnectCause,
  connectOrFail,
  explainTlsError,
  isCertificateVerifyError,
  type Target,
  targetString,
} from "./channel.ts";
import type { Shard } from "./option_parsers.ts";
import type { RunContext, TestSpec } from "./harness.ts";
import type { Meta, SteadyLine } from "./results_format.ts";
import type { ConnectionTrace } from "./tap.ts";

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
  /** The calls of `plan`, and its requests over all the channels (warm-up included). */
  callsOf(plan: Plan): Pick<TestSpec<SteadyLine>, "calls" | "total" | "firstMeasured">;
  /** Cancels the calls in flight now (a second SIGINT): they are written as CANCELLED. */
  cancel(): void;
  /** Closes the pacers and channels (and ends the threads). */
  close(): Promise<void>;
}

/** The method a run calls: `run.method`, else df's GetScore with `run.payload`. */
export function methodOf(run: Pick<SteadyRun, "method" | "payload">): UnaryMethod {
  return run.method ?? {
    path: GET_SCORE_PATH,
    request: encodeJsonVector(run.payload),
    metadata: [],
    schema: "built-in proto/score.proto",
  };
}

/** Metadata for every call, built once (`-bin` values arrive as base64 text). */
export function callMetadata(pairs: [string, string][]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of pairs) md.add(k, k.endsWith("-bin") ? Buffer.from(v, "base64") : v);
  return md;
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

/** Thrown when df cannot be reached before the run starts. */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

/** Connects a run's channel, or throws {@link UnreachableError} saying why it cannot. */
export async function connectForRun(
  channel: Channel,
  run: Pick<SteadyRun, "target" | "connectTimeoutMs">,
): Promise<void> {
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
}
