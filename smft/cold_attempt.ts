/**
 * One cold-connection attempt: a brand-new channel, connect, one call, close, and the line that
 * says how far it got and when each phase ended (cumulative from the attempt's start). The
 * channel is steady's own client (`h2_channel.ts`): name lookup, TCP, TLS and HTTP/2 as grpc-js
 * makes them, traced by the tap, without grpc-js's own start-up and per-call work.
 *
 * @module
 */
import type { UnaryMethod } from "./unary_method.ts";
import { connectFailure, explainTlsError, type Target, targetString } from "./channel.ts";
import { type CallStatus, H2Channel, type UnaryRequest, unaryRequest } from "./h2_channel.ts";
import type { ConnectionTrace, Lookup } from "./tap.ts";
import { type ColdLine, cutMessage, handlingTime, r3, statusName } from "./results_format.ts";
import type { Done } from "./open_loop.ts";

/**
 * How far an attempt got: the first phase it did not complete. `t_dns_ms` (`tcpStart`) is set
 * when the TCP connect is tried, so a refused connect is `tcp`; no connect tried is `dns` when a
 * name lookup failed or never ended, else `start` (the channel never got as far as connecting).
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

type ConnectState = "ready" | "failed" | "deadline";

/** Ends when the channel is connected (the server's SETTINGS), fails, or the deadline passes. */
async function connect(channel: H2Channel, deadline: number): Promise<ConnectState> {
  try {
    await channel.connect(Math.max(1, deadline - Date.now()));
    return "ready";
  } catch {
    return Date.now() >= deadline ? "deadline" : "failed";
  }
}

/** The phases' end times and what TLS negotiated, written on `line` (in the file's key order). */
function recordPhases(line: ColdLine, trace: ConnectionTrace, start: number): void {
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
}

/** What the attempts of one run share. */
export interface AttemptSetup {
  target: Target;
  /** Deadline of each attempt: connect and call together. */
  deadlineMs: number;
  method: UnaryMethod;
  /** Where measurement begins (`performance.now()` ms): `t_ms` counts from it. */
  measureStart: number;
}

/**
 * The attempts of one run: {@link ColdAttempts.launch} makes one; {@link ColdAttempts.abandon}
 * ends those in flight; {@link ColdAttempts.endScheduling} once no attempt is left to start.
 */
export class ColdAttempts {
  readonly #s: AttemptSetup;
  /** The request, built once: every attempt sends the same (its own deadline is the client's). */
  readonly #request: UnaryRequest;
  readonly #running = new Set<H2Channel>();
  // A certificate problem is the same on every attempt: look into it once per distinct error.
  readonly #explanations = new Map<string, Promise<string>>();
  #prepared: H2Channel | undefined;
  #scheduling = true;
  /** smft itself is ending what is in flight: an attempt that fails now was cancelled, not refused. */
  #abandoning = false;

  constructor(s: AttemptSetup) {
    this.#s = s;
    const m = s.method;
    this.#request = unaryRequest(
      m.path,
      m.request,
      m.metadata,
      s.deadlineMs,
      targetString(s.target),
    );
    this.#prepared = this.#prepare();
  }

  // Each attempt's channel and credentials are built before its start (a channel connects only
  // when asked), so the phase times count connecting, not building a TLS context (~0.55 ms).
  // They are built when an attempt ends (and one before the plan), never in the turn that
  // starts an attempt: that work would land inside its start-up. An attempt that starts while
  // another is still running, so that none was built for it, builds its own: its start-up then
  // shows that cost.
  #prepare(): H2Channel {
    return new H2Channel(this.#s.target);
  }

  #explain(message: string): Promise<string> {
    let p = this.#explanations.get(message);
    if (!p) {
      this.#explanations.set(message, p = explainTlsError(message, this.#s.target, 1000));
    }
    return p;
  }

  /** One attempt: connect, one call, close. Its line is written whatever happens. */
  launch = async (
    _j: number,
    intended: number,
    start: number,
    loop: { inflight: number },
  ): Promise<Done<ColdLine>> => {
    const channel = this.#prepared ?? this.#prepare();
    this.#prepared = undefined;
    const live = channel.trace;
    const overlap = loop.inflight - 1;
    const deadline = Date.now() + this.#s.deadlineMs;
    this.#running.add(channel);
    const line: ColdLine = {
      ok: false,
      t_ms: r3(intended - this.#s.measureStart),
      lag_ms: r3(start - intended),
    };
    let totalMs: number | undefined;
    try {
      const state = await connect(channel, deadline);
      const ready = performance.now();
      const status = state === "ready" ? await this.#call(channel, deadline) : undefined;
      const done = performance.now();
      // What the connection went through, as of now.
      const trace: ConnectionTrace = { ...live };
      // The status came from the server (or the client's reading of it): never OK or "NaN" when
      // malformed, and OK only with its one message (`unary_read.ts`).
      const st = status ? statusName(status.code) : undefined;
      const success = st?.ok === true;
      line.ok = success;
      if (!success) await this.#recordFailure(line, { trace, state, status, st });
      if (state === "ready") {
        line.t_connect_ms = r3(ready - start);
        line.t_first_rpc_ms = r3(done - ready);
      }
      totalMs = done - start;
      line.t_total_ms = r3(totalMs);
      recordPhases(line, trace, start);
      line.overlap = overlap;
      // The server's own time cannot exceed the call's (from READY to its status) as seen here.
      const df = handlingTime(status?.handling, state === "ready" ? done - ready : undefined);
      line.df_ms = df.df_ms;
      line.df_bad = df.df_bad;
    } catch (e) {
      line.phase ??= "unknown";
      line.code ??= "UNKNOWN";
      line.error = cutMessage(`smft: ${(e as Error).message}`);
    } finally {
      channel.close();
      this.#running.delete(channel);
      if (this.#scheduling) this.#prepared ??= this.#prepare();
    }
    return { line, valueMs: totalMs };
  };

  /** The one call on a connected channel: its status (the deadline's included). */
  #call(channel: H2Channel, deadline: number): Promise<CallStatus> {
    return new Promise((resolve) => {
      channel.call(this.#request, Math.max(1, deadline - Date.now()), resolve);
    });
  }

  /** A failed attempt's phase, code and error, written on `line`. */
  async #recordFailure(
    line: ColdLine,
    o: {
      trace: ConnectionTrace;
      state: ConnectState;
      status: CallStatus | undefined;
      st: { code?: string; malformed: boolean } | undefined;
    },
  ): Promise<void> {
    const { trace, state, status, st } = o;
    const phase = failedPhase(trace, state === "ready");
    line.phase = phase;
    line.code = st ? st.code : state === "deadline" ? "DEADLINE_EXCEEDED" : "UNAVAILABLE";
    line.error = phase === "tls" && trace.tlsError && trace.tlsDone === undefined
      ? await this.#explain(trace.tlsError)
      : phase === "rpc"
      ? st?.malformed
        ? `malformed status code ${String(status?.code)} (${status?.details})`
        : status?.details || "call failed"
      : connectFailure(`channel ${state}`, trace, this.#s.target);
    // The server's text, cut: a line stays far under a reader's line limit.
    line.error = cutMessage(line.error);
    if (this.#abandoning) {
      // Closed by smft mid-connect (second SIGINT, or past the in-flight bound): not df's doing.
      line.code = "CANCELLED";
      line.error = `cancelled by smft during ${phase} (second SIGINT, or past the in-flight bound)`;
    }
  }

  /** Ends every attempt in flight: their calls are cancelled, their channels closed. */
  abandon = (): void => {
    this.#abandoning = true;
    this.#running.forEach((c) => {
      c.cancelAll();
      c.close();
    });
  };

  /** No attempt is left to start: the channel built for a next one is closed. */
  endScheduling = (): void => {
    this.#scheduling = false;
    this.#prepared?.close();
    this.#prepared = undefined;
  };
}
