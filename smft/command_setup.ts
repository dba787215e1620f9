/**
 * What `steady` and `coldconn` do before their run: SLO clauses, TLS files and their warnings,
 * the target, the interrupt signals, the method every call makes, the claimed results files, and
 * a steady run's settings ({@link steadyRun}, shared by `steady` and `--find-capacity`).
 *
 * @module
 */
import { ConfigError } from "./shared/layered_config.ts";
import { loadTls } from "../certs/tls.ts";
import type { CommonConfig, SteadyConfig } from "./settings.ts";
import { openChannel, type Target } from "./channel.ts";
import { parseSlo, type SloClause } from "./slo.ts";
import { connectForRun, type SteadyRun } from "./steady_run.ts";
import { loadProtoFiles, type UnaryMethod, unaryMethod } from "./method.ts";
import { reflectService } from "./reflection.ts";
import { encodeJsonVector, GET_SCORE_PATH } from "../proto/score.ts";
import { ResultsWriter } from "./record.ts";
import { inFlightBoundMs } from "./harness.ts";
import { logLine, stderrProgress } from "./progress.ts";

/**
 * SIGINT and SIGTERM. The first stops scheduling (`signal`) and says what smft still waits for
 * and for how long at most: the calls in flight, bounded by their deadline; the second cancels
 * them (`cancel`): they are written as `CANCELLED` and the file is completed at once.
 */
function interruptSignals(
  deadlineMs: number,
  display: ReturnType<typeof stderrProgress>,
): { signal: AbortSignal; cancel: AbortSignal } {
  const stop = new AbortController();
  const cancel = new AbortController();
  // The loop's bound after the plan, and its half-second grace for abandoned calls.
  const atMostS = Math.ceil((inFlightBoundMs(deadlineMs) + 500) / 1000);
  const on = (name: string) => () => {
    if (!stop.signal.aborted) {
      stop.abort();
      logLine(
        display,
        `smft: ${name}: no new calls; waiting for the calls in flight to end, at most ${atMostS} s ` +
          `(their --deadline-ms ${deadlineMs}, and 2.5 s); ${name} again cancels them ` +
          `(written as CANCELLED)`,
      );
    } else if (!cancel.signal.aborted) {
      cancel.abort();
      logLine(
        display,
        `smft: ${name} again: cancelling the calls in flight (written as CANCELLED), then ` +
          `completing the results file`,
      );
    }
  };
  Deno.addSignalListener("SIGINT", on("SIGINT"));
  Deno.addSignalListener("SIGTERM", on("SIGTERM"));
  return { signal: stop.signal, cancel: cancel.signal };
}

/** What both tests do before their run: TLS files, warnings, SLO clauses, the target. */
export function prepare(c: CommonConfig) {
  let clauses: SloClause[] = [];
  try {
    clauses = c.slo ? parseSlo(c.slo) : [];
  } catch (e) {
    throw new ConfigError(`--slo: ${(e as Error).message}`);
  }
  const material = loadTls(c.tlsMode, { ca: c.ca, cert: c.cert, key: c.key }, "client");
  const display = stderrProgress(c.quiet);
  for (const w of [...(c.envWarnings ?? []), ...material.warnings]) {
    logLine(display, `smft: WARNING: ${w}`);
  }
  if (c.tlsMode === "insecure") {
    logLine(
      display,
      "smft: WARNING: TLS_MODE=insecure: plaintext, no authentication; debugging only",
    );
  }
  const target: Target = {
    host: c.host,
    port: c.port,
    serverName: c.serverName,
    tlsMode: c.tlsMode,
    tls: material,
  };
  return { clauses, display, target, ...interruptSignals(c.deadlineMs, display) };
}

/** What {@link prepare} gives a command. */
export type Prepared = ReturnType<typeof prepare>;

/**
 * The method every call of the run makes, encoded before the run: from `--proto` files, or
 * from the server's reflection over a channel like the run's (same TLS); else df's GetScore.
 */
export async function resolveMethod(
  c: CommonConfig & { payload: string },
  target: Target,
  connectTimeoutMs: number,
): Promise<UnaryMethod> {
  const m = c.method;
  if (!m) {
    return {
      path: GET_SCORE_PATH,
      request: encodeJsonVector(c.payload),
      metadata: c.metadata,
      schema: "built-in proto/score.proto",
    };
  }
  const made = (root: Parameters<typeof unaryMethod>[0], schema: string) =>
    unaryMethod(root, { ...m, metadata: c.metadata, schema });
  if (!m.reflect) return made(loadProtoFiles(m.proto, m.importPath), `proto:${m.proto.join(",")}`);
  const channel = openChannel(target);
  try {
    await connectForRun(channel, { target, connectTimeoutMs });
    const service = m.call.replace(/^\//, "").split("/")[0];
    const r = await reflectService(channel.client, service, connectTimeoutMs);
    return made(r.root, `reflection:${r.version}`);
  } finally {
    channel.client.close();
  }
}

/**
 * Claims each results file before anything is sent (one writer per path, and a full disk or a
 * file where a folder should be is said now): all of them, or none.
 */
export function reserveAll(paths: string[], test: "01_steady" | "02_coldconn"): ResultsWriter[] {
  const writers: ResultsWriter[] = [];
  try {
    for (const p of paths) writers.push(ResultsWriter.reserve(p, test));
  } catch (e) {
    for (const w of writers) w.discard();
    throw e;
  }
  return writers;
}

/** One steady run of rate `rate` into `out`, from the settings (the caller adds the rest). */
export function steadyRun(
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
