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
import { Buffer } from "node:buffer";
import {
  encodeJsonVector,
  GET_SCORE_PATH,
  HANDLING_METADATA_KEY,
  passBytes,
} from "../proto/score.ts";
import { DEFAULT_PACING, Pacer, type PacingMode } from "./shared/pacer.ts";
import { IoProbe } from "./io_probe.ts";
import { type Arrival, plannedRate, totalRequests, warmupRequests } from "./schedule.ts";
import type { UnaryMethod } from "./method.ts";
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
import { cutMessage, handlingTime, NO_MESSAGE, r3, statusName } from "./results_format.ts";
import type { ResultsWriter } from "./record.ts";
import { encodeHistogram } from "./histogram.ts";
import type { Shard } from "./options.ts";
import {
  type Done,
  inFlightBoundMs,
  type LoopCalls,
  makePlan,
  runMeta,
  type RunResult,
  runTest,
  type TestSpec,
} from "./harness.ts";
import type { Clock } from "./open_loop.ts";
import type { Progress } from "./open_loop.ts";
import type { Meta, SteadyLine } from "./results_format.ts";
import type { Plan } from "./schedule.ts";
import type { ConnectionTrace } from "./tap.ts";

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
  /** Aborting (a second SIGINT) cancels the calls still in flight: written as `CANCELLED`. */
  cancel?: AbortSignal;
  /** Called once a second. */
  onProgress?: (p: Progress) => void;
  /** Called when the warm-up is over and the first measured call goes out. */
  onMeasureStart?: () => void;
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

/** The outcome of a run. */
export type SteadyResult = RunResult;

/** Thrown when df cannot be reached before the run starts. */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

/** Largest number of calls issued in one turn of the event loop when catching up. */
const BURST = 256;

/**
 * Runs one steady test over one channel driven on this thread, and writes its results file
 * (`runSteadyTest` in `connections.ts` picks this or several channels).
 */
export async function runSteady(run: SteadyRun): Promise<SteadyResult> {
  const channel: Channel = openChannel(run.target);
  const pacer = new Pacer(run.pacing ?? DEFAULT_PACING);
  let probe: IoProbe | undefined;
  try {
    await connectForRun(channel, run);
    probe = await IoProbe.start();
    await pacer.ready();
    return await measure(run, channel, pacer, probe);
  } finally {
    probe?.close();
    pacer.close();
    channel.client.close();
  }
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

/**
 * Steady's calls over a ready channel, paced by `clock`: "one call", and a way to end the calls
 * still in flight (one connection's, on whichever thread drives it).
 */
export function unaryCalls(
  client: grpc.Client,
  clock: Clock,
  o: {
    payload: Buffer;
    deadlineMs: number;
    measureStart: number;
    /** `:path`; default df's GetScore. */
    path?: string;
    metadata?: [string, string][];
  },
): LoopCalls<SteadyLine> {
  const active = new Set<grpc.ClientUnaryCall>();
  const metadata = callMetadata(o.metadata ?? []);
  const path = o.path ?? GET_SCORE_PATH;
  const call = (_j: number, intended: number, issued: number): Promise<Done<SteadyLine>> =>
    new Promise((resolve) => {
      // grpc-js calls back (before "status") with an error when an OK call brought no message.
      let noMessage = false;
      const c = client.makeUnaryRequest(
        path,
        passBytes,
        passBytes,
        o.payload,
        metadata,
        { deadline: Date.now() + o.deadlineMs },
        (e) => noMessage = e !== null,
      );
      active.add(c);
      c.on("status", (st: grpc.StatusObject) => {
        const done = performance.now();
        active.delete(c);
        resolve({
          line: steadyLine(st, intended, issued, done, o.measureStart, noMessage),
          valueMs: done - intended,
        });
      });
    });
  return {
    clock,
    launch: call,
    // Calls carry deadlines; this only ends a call that never does (written as CANCELLED).
    abandon: () => active.forEach((c) => c.cancel()),
    boundMs: inFlightBoundMs(o.deadlineMs),
    burst: BURST,
  };
}

async function measure(
  run: SteadyRun,
  channel: Channel,
  pacer: Clock,
  probe?: IoProbe,
): Promise<SteadyResult> {
  const method = methodOf(run);
  const payload = Buffer.from(method.request);
  const { plan, startEpochMs } = makePlan(run);
  const total = totalRequests(plan);
  const firstMeasured = warmupRequests(plan);
  const meta = steadyMeta(run, plan, startEpochMs, channel.trace, method);
  const calls = unaryCalls(channel.client, pacer, {
    payload,
    deadlineMs: run.deadlineMs,
    measureStart: plan.t0 + plan.warmupMs,
    path: method.path,
    metadata: method.metadata,
  });
  calls.probe = probe;
  const cancel = () => calls.abandon();
  run.cancel?.addEventListener("abort", cancel);
  try {
    return await runTest<SteadyLine>({
      ...steadySpec(run, meta, plan),
      total,
      firstMeasured,
      calls,
    });
  } finally {
    run.cancel?.removeEventListener("abort", cancel);
  }
}

/** Steady's `#META`. */
export function steadyMeta(
  run: SteadyRun,
  plan: Plan,
  startEpochMs: number,
  trace: ConnectionTrace | undefined,
  method: UnaryMethod,
): Meta {
  const total = totalRequests(plan);
  return {
    ...runMeta({ test: "01_steady", ...run, startEpochMs, trace, warmupS: run.warmupS }),
    warmup_s: run.warmupS,
    measure_start_epoch_ms: startEpochMs + plan.warmupMs,
    ...methodMeta(method, run),
    planned_requests: total - warmupRequests(plan),
    connections: run.connections ?? 1,
  };
}

/** What steady's harness spec has whatever runs the calls. */
export function steadySpec(
  run: SteadyRun,
  meta: Meta,
  plan: Plan,
): Omit<TestSpec<SteadyLine>, "total" | "firstMeasured" | "calls"> {
  return {
    test: "01_steady",
    out: run.out,
    writer: run.writer,
    overwrite: run.overwrite,
    meta,
    plan,
    // Poisson: the plan's own rate (its count over its window), which a generator that keeps
    // the plan achieves exactly; constant: the rate over the shards, as before.
    hostRate: plannedRate(plan),
    signal: run.signal,
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
  };
}

/**
 * The result line of one call (pure). `noMessage`: the call ended OK without a response
 * message, which is a failure (`INTERNAL`).
 */
export function steadyLine(
  st: Pick<grpc.StatusObject, "code" | "details" | "metadata">,
  intended: number,
  issued: number,
  done: number,
  measureStart: number,
  noMessage = false,
): SteadyLine {
  // Everything here came from the server: a bad status or trailer is data, never a crash.
  const status = st.code === 0 && noMessage
    ? { ok: false, code: "INTERNAL", malformed: false, details: NO_MESSAGE }
    : { ...statusName(st.code), details: st.details };
  const ok = status.ok;
  // The server's own time cannot exceed the call's as seen here (it happens inside it).
  const df = handlingTime(st.metadata?.get(HANDLING_METADATA_KEY), done - issued);
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
