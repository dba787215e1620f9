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
import { Buffer } from "node:buffer";
import { HANDLING_METADATA_KEY, passBytes } from "../proto/score.ts";
import { defaultPayload, type Shard } from "./options.ts";
import type { UnaryMethod } from "./method.ts";
import { callMetadata, methodMeta, methodOf } from "./steady.ts";
import { IoProbe } from "./io_probe.ts";
import { DEFAULT_PACING, Pacer, type PacingMode } from "./shared/pacer.ts";
import type { Clock } from "./open_loop.ts";
import { type Arrival, intendedAt, plannedRate, totalRequests } from "./schedule.ts";
import { connectFailure, explainTlsError, openChannel, type Target } from "./channel.ts";
import { type ConnectionTrace, type Lookup, withTrace } from "./tap.ts";
import { cutMessage, handlingTime, NO_MESSAGE, r3, statusName } from "./results_format.ts";
import type { ResultsWriter } from "./record.ts";
import {
  type Done,
  inFlightBoundMs,
  makePlan,
  runMeta,
  type RunResult,
  runTest,
} from "./harness.ts";
import type { Progress } from "./open_loop.ts";
import type { ColdLine, Meta } from "./results_format.ts";
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
  /**
   * Attempts made first, on the same schedule, and not recorded: a process's first attempt also
   * times its own start-up (grpc-js's and TLS's code running for the first time: 84 ms against a
   * 12 ms p50, measured). @default {@link DEFAULT_WARMUP_ATTEMPTS}
   */
  warmupAttempts?: number;
  /** Deadline of each attempt: connect and call together. */
  deadlineMs: number;
  out: string;
  /** The results file, reserved before anything was sent. */
  writer?: ResultsWriter;
  /** Replace an earlier complete file instead of moving it aside. */
  overwrite?: boolean;
  /** The request JSON (default: the 64-feature vector). */
  payload?: string;
  shard: Shard;
  startAt?: number;
  signal?: AbortSignal;
  /** Aborting (a second SIGINT) cancels the attempts still in flight: written as `CANCELLED`. */
  cancel?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onMeasureStart?: () => void;
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
export const DEFAULT_WARMUP_ATTEMPTS = 1;

/** The outcome of a run. */
export interface ColdResult extends RunResult {
  /** Largest number of attempts in progress at once. */
  maxOverlap: number;
}

/**
 * How far an attempt got: the first phase it did not complete. `t_dns_ms` (`tcpStart`) is set
 * when the TCP connect is tried, so a refused connect is `tcp`; no connect tried is `dns` when a
 * name lookup failed or never ended, else `start` (grpc-js never got as far as connecting).
 */
export function failedPhase(t: ConnectionTrace, ready: boolean): string {
  if (ready) return "rpc";
  if (t.tcpStart === undefined) {
    return t.lookups?.some((l) => l.failed || l.end === undefined) ? "dns" : "start";
  }
  if (t.tcpDone === undefined) return "tcp";
  if (t.tlsDone === undefined) return "tls";
  if (t.h2Done === undefined) return "h2";
  return "connect";
}

/**
 * Time spent looking names up before `until`, lookups that overlap counted once (pure): a
 * re-resolution after the connect began is not start-up time taken from DNS.
 */
export function lookupBefore(lookups: Lookup[] | undefined, until: number): number {
  const spans = (lookups ?? [])
    .map((l) => [l.start, Math.min(l.end ?? until, until)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0, reach = -Infinity;
  for (const [a, b] of spans) {
    if (b <= reach) continue;
    total += b - Math.max(a, reach);
    reach = b;
  }
  return total;
}

/** Ends when the channel is READY, fails, or the deadline passes. */
function connect(
  client: grpc.Client,
  trace: ConnectionTrace,
  deadline: number,
): Promise<"ready" | "failed" | "deadline"> {
  const channel = client.getChannel();
  return new Promise((resolve) => {
    const check = () => {
      // Inside the attempt's trace scope: its TCP connect and name lookup are recorded on it.
      const state = withTrace(trace, () => channel.getConnectivityState(true));
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

async function measure(run: ColdRun, pacer: Clock, probe?: IoProbe): Promise<ColdResult> {
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
  const method = methodOf({ ...run, payload: run.payload ?? defaultPayload() });
  const payload = Buffer.from(method.request);
  const metadata = callMetadata(method.metadata);
  const meta: Meta = {
    ...runMeta({
      test: "02_coldconn",
      ...run,
      durationS,
      warmupS,
      startEpochMs,
      attempts: run.attempts,
    }),
    attempts: run.attempts ?? null,
    warmup_attempts: warmup,
    planned_attempts: total - warmup,
    // Every attempt has new credentials and its own SecureContext: nothing to resume.
    resumption: false,
    ...methodMeta(method, run),
  };
  const attemptsRunning = new Set<grpc.Client>();
  // Calls in flight: closing a channel does not end its calls, cancelling them does.
  const callsRunning = new Set<grpc.ClientUnaryCall>();
  // A certificate problem is the same on every attempt: look into it once per distinct error.
  const explanations = new Map<string, Promise<string>>();
  const explain = (message: string) => {
    let p = explanations.get(message);
    if (!p) explanations.set(message, p = explainTlsError(message, run.target, 1000));
    return p;
  };

  // Each attempt's channel and credentials are built before its start (an idle channel makes no
  // connection), so the phase times count connecting, not building a TLS context (~0.55 ms).
  // They are built when an attempt ends (and one before the plan), never in the turn that
  // starts an attempt: that work would land inside its start-up, before grpc-js's resolver
  // runs (+1 ms to every connect). An attempt that starts while another is still running, so
  // that none was built for it, builds its own: its start-up then shows that cost.
  const prepare = () =>
    openChannel(run.target, { "grpc.max_reconnect_backoff_ms": run.deadlineMs });
  let prepared: ReturnType<typeof prepare> | undefined = prepare();
  let scheduling = true;
  /** smft itself is ending what is in flight: an attempt that fails now was cancelled, not refused. */
  let abandoning = false;

  /** One attempt: connect, one call, close. Its line is written whatever happens. */
  const attempt = async (
    _j: number,
    intended: number,
    start: number,
    loop: { inflight: number },
  ): Promise<Done<ColdLine>> => {
    const { client, trace: live = {} } = prepared ?? prepare();
    prepared = undefined;
    const overlap = loop.inflight - 1;
    const deadline = Date.now() + run.deadlineMs;
    attemptsRunning.add(client);
    const line: ColdLine = {
      ok: false,
      t_ms: r3(intended - measureStart),
      lag_ms: r3(start - intended),
    };
    let totalMs: number | undefined;
    try {
      const state = await connect(client, live, deadline);
      const ready = performance.now();
      let status: grpc.StatusObject | undefined;
      let noMessage = false;
      if (state === "ready") {
        status = await new Promise<grpc.StatusObject>((resolve) => {
          const call = client.makeUnaryRequest(
            method.path,
            passBytes,
            passBytes,
            payload,
            metadata,
            { deadline },
            // grpc-js calls back (before "status") with an error when OK brought no message.
            (e) => noMessage = e !== null,
          );
          callsRunning.add(call);
          call.on("status", (st: grpc.StatusObject) => {
            callsRunning.delete(call);
            resolve(st);
          });
        });
      }
      const done = performance.now();
      // What the connection went through, as of now: grpc-js may reconnect a failed channel
      // (and reset the live trace) while the failure is being explained below.
      const trace: ConnectionTrace = { ...live };
      // The status came from the server: a malformed one is an error, never OK or "NaN".
      const st = status
        ? status.code === 0 && noMessage
          ? { ok: false, code: "INTERNAL", malformed: false }
          : statusName(status.code)
        : undefined;
      const success = st?.ok === true;
      line.ok = success;
      if (!success) {
        const phase = failedPhase(trace, state === "ready");
        line.phase = phase;
        line.code = st ? st.code : state === "deadline" ? "DEADLINE_EXCEEDED" : "UNAVAILABLE";
        line.error = phase === "tls" && trace.tlsError && trace.tlsDone === undefined
          ? await explain(trace.tlsError)
          : phase === "rpc"
          ? status?.code === 0
            ? NO_MESSAGE
            : st?.malformed
            ? `malformed status code ${String(status?.code)} (${status?.details})`
            : status?.details ?? "call failed"
          : connectFailure(`channel ${state}`, trace, run.target);
        // The server's text, cut: a line stays far under a reader's line limit.
        line.error = cutMessage(line.error);
        if (abandoning) {
          // Closed by smft mid-connect (second SIGINT, or past the in-flight bound): not df's doing.
          line.code = "CANCELLED";
          line.error =
            `cancelled by smft during ${phase} (second SIGINT, or past the in-flight bound)`;
        }
      }
      if (state === "ready") {
        line.t_connect_ms = r3(ready - start);
        line.t_first_rpc_ms = r3(done - ready);
      }
      totalMs = done - start;
      line.t_total_ms = r3(totalMs);
      const at = (t?: number) => t === undefined ? undefined : r3(t - start);
      // Start-up is the time before the first TCP connect that no name lookup took: an IP
      // target (no lookup) shows it all as start-up and none as DNS.
      const tcpStart = trace.firstTcpStart;
      line.t_start_ms = at(
        tcpStart === undefined ? undefined : tcpStart - lookupBefore(trace.lookups, tcpStart),
      );
      line.t_dns_ms = at(tcpStart);
      line.t_tcp_ms = at(trace.tcpDone);
      line.t_tls_ms = at(trace.tlsDone);
      line.t_h2_ms = at(trace.h2Done);
      line.tls = trace.tlsVersion;
      line.cipher = trace.cipher;
      line.alpn = trace.alpn;
      line.resumed = trace.resumed;
      line.peer_subject = cutMessage(trace.peerSubject);
      line.overlap = overlap;
      // The server's own time cannot exceed the call's (from READY to its status) as seen here.
      const df = handlingTime(
        status?.metadata?.get(HANDLING_METADATA_KEY),
        state === "ready" ? done - ready : undefined,
      );
      line.df_ms = df.df_ms;
      line.df_bad = df.df_bad;
    } catch (e) {
      line.phase ??= "unknown";
      line.code ??= "UNKNOWN";
      line.error = cutMessage(`smft: ${(e as Error).message}`);
    } finally {
      client.close();
      attemptsRunning.delete(client);
      if (scheduling) prepared ??= prepare();
    }
    return { line, valueMs: totalMs };
  };

  const abandon = () => {
    abandoning = true;
    callsRunning.forEach((c) => c.cancel());
    attemptsRunning.forEach((c) => c.close());
  };
  run.cancel?.addEventListener("abort", abandon, { once: true });
  const result = await runTest<ColdLine>({
    test: "02_coldconn",
    out: run.out,
    writer: run.writer,
    overwrite: run.overwrite,
    meta,
    plan,
    total,
    firstMeasured: warmup,
    hostRate: plannedRate(plan, total),
    signal: run.signal,
    calls: {
      clock: pacer,
      launch: attempt,
      onScheduleEnd: () => {
        scheduling = false;
        prepared?.client.close();
        prepared = undefined;
      },
      // Attempts carry their own deadline; this only ends one that never settles.
      abandon,
      boundMs: inFlightBoundMs(run.deadlineMs),
      burst: Infinity,
      probe,
    },
    warmupS,
    totalS: warmupS + durationS,
    onMeasureStart: run.onMeasureStart,
    onProgress: run.onProgress,
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
