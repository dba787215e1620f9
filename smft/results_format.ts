/**
 * The results format, as types: what smft writes (`record.ts`) and what the tools read
 * (`tools/results.ts`). The normative description is `results_format.md` beside this file.
 *
 * A file is `#TEST=<name>`, `#META=<Meta>`, one {@link SteadyLine} or {@link ColdLine} per
 * result, then `#END=<End>`. The seed's bare format (`#TEST=` and result lines only) is read too.
 * Times are milliseconds rounded to microseconds ({@link r3}).
 *
 * @module
 */

/** The two tests, as named on a results file's `#TEST=` line. */
export type TestName = "01_steady" | "02_coldconn";

/** Every test name, in order. */
export const TEST_NAMES: TestName[] = ["01_steady", "02_coldconn"];

/**
 * Connection phases of a cold-connection attempt, in the order they happen (`start`: grpc-js's
 * channel start-up, the time before the TCP connect not spent looking up the name).
 */
export const PHASES = [
  "start",
  "dns",
  "tcp",
  "tls",
  "h2",
  "connect",
  "first_rpc",
  "total",
] as const;

/** One connection phase. */
export type Phase = (typeof PHASES)[number];

/** One steady request, written when its status arrived (or it was abandoned). */
export interface SteadyLine {
  ok: boolean;
  /** gRPC status name when not OK, e.g. `DEADLINE_EXCEEDED`. */
  code?: string;
  /** Response time: done − intended. The seed's field. */
  latency_ms: number;
  /** Service time: done − issued. */
  service_ms: number;
  /** Generator lag: issued − intended. */
  lag_ms: number;
  /** Intended send time, from the start of measurement. */
  t_ms: number;
  /** df's own handling time, from its `df-handling-us` trailer, when it sent a valid one. */
  df_ms?: number;
  /** A `df-handling-us` trailer that was not a valid time (raw text, cut to 40 characters). */
  df_bad?: string;
  /** The status details when not OK. */
  error?: string;
}

/** One cold-connection attempt: every phase time is cumulative from the attempt's start. */
export interface ColdLine {
  ok: boolean;
  /** The first phase the attempt did not complete, when it failed. */
  phase?: string;
  code?: string;
  error?: string;
  /** Channel start-up: up to the TCP connect, less the name lookup (an IP target has none). */
  t_start_ms?: number;
  /** The TCP connect began: start-up and the name lookup are over. */
  t_dns_ms?: number;
  t_tcp_ms?: number;
  t_tls_ms?: number;
  t_h2_ms?: number;
  /** Channel READY (df's HTTP/2 SETTINGS arrived). */
  t_connect_ms?: number;
  /** READY to the first response. */
  t_first_rpc_ms?: number;
  t_total_ms?: number;
  tls?: string;
  cipher?: string;
  alpn?: string;
  resumed?: boolean;
  peer_subject?: string;
  /** Other attempts in progress when this one started. */
  overlap?: number;
  df_ms?: number;
  /** A `df-handling-us` trailer that was not a valid time (raw text, cut to 40 characters). */
  df_bad?: string;
  /** Intended start, from the start of the run. */
  t_ms: number;
  /** Start − intended. */
  lag_ms: number;
}

/** What TLS negotiated on a run's connection. */
export interface TlsFacts {
  version?: string;
  cipher?: string;
  alpn?: string;
  peer_subject?: string;
}

/** `#META`: the run's settings and where it ran, written before the first result. */
export interface Meta {
  /**
   * The same for every shard of one run: a hash of the shared plan with `--start-at`, random
   * without it (12 hex digits).
   */
  run_id: string;
  test: TestName;
  /** `host:port` of df. */
  target: string;
  server_name: string;
  tls_mode: string;
  /** Combined rate of all shards, per second. */
  rate: number;
  /** This host's share of `rate`. */
  host_rate: number;
  duration_s: number;
  deadline_ms: number;
  /** Epoch ms of the plan's start (request 0). */
  start_epoch_ms: number;
  tls: TlsFacts | null;
  tool: string;
  deno: string;
  grpc_js: string;
  /** The gRPC client the calls went through: `node:http2` (steady's own) or `grpc-js`. */
  client?: string;
  host: string;
  /** `k/n`. */
  shard: string;
  /** How each connection's thread waited for its next send (`--pacing`): `wake`, `spin` or `timer`. */
  pacing?: string;
  /**
   * The server answered on this host (loopback, or the same address on both ends of the
   * connection); absent when unknown (`--tls insecure`).
   */
  server_on_this_host?: boolean;
  /** Steady: warm-up seconds (sent, not written). */
  warmup_s?: number;
  /** Steady: epoch ms at which measurement starts. */
  measure_start_epoch_ms?: number;
  payload_bytes?: number;
  /** The method called, `package.Service/Method` (absent in files from before it was written). */
  method?: string;
  /** Where its schema came from: `built-in proto/score.proto`, `proto:FILE,...`, `reflection:v1`. */
  schema?: string;
  /** How request instants were spaced: `constant` or `poisson`. */
  arrival?: string;
  /** Seed of the Poisson gaps (poisson only): the same seed replays the same plan. */
  seed?: number;
  /** Steady: requests planned after warm-up. */
  planned_requests?: number;
  /** Steady: channels this host used, each on its own thread with shard k of n of its plan. */
  connections?: number;
  /** Coldconn: the attempt count asked for, if any. */
  attempts?: number | null;
  /** Coldconn: attempts made first on the same schedule and not written (`--warmup-attempts`). */
  warmup_attempts?: number;
  /** Coldconn: this host's attempts planned after the warm-up ones. */
  planned_attempts?: number;
  /** Coldconn: whether TLS sessions could be resumed (never: each attempt is new). */
  resumption?: boolean;
}

/** `#END`: totals, the run's own verdict, resources and histograms; written last. */
export interface End {
  /** Result lines in the file. */
  count: number;
  ok: number;
  /** Failures by status name. */
  errors: Record<string, number>;
  interrupted: boolean;
  planned: number;
  sent: number;
  elapsed_s: number;
  achieved_rps: number;
  /** The generator kept its schedule (see `verdict.ts`). */
  valid: boolean;
  /** Measured calls (or attempts) the verdict rests on. */
  verdict_calls?: number;
  /** Whether the own delay was judged (false: fewer calls than `RUN_RULES.minCallsForLag`). */
  lag_judged?: boolean;
  /** Why the run is not valid (empty when it is). */
  verdict_reasons?: string[];
  /** Result lines whose `df-handling-us` trailer was malformed or out of range (`df_bad`). */
  bad_trailers?: number;
  /**
   * The generator's own delay (`own_delay.ts`): send side (lag) and read side (responses waiting
   * for the thread that owns their channel), p50 and p99, ms. The read side is absent when not
   * measured.
   */
  own_delay?: {
    send_p50_ms: number;
    send_p99_ms: number;
    read_p50_ms?: number;
    read_p99_ms?: number;
    /** The I/O probe's excess round trip (`io_probe.ts`), p50 and p99, and how many were timed. */
    io_p50_ms?: number;
    io_p99_ms?: number;
    io_samples?: number;
    /** How much each side moves the latency's p50 and p99 (steady; what the verdict judges). */
    moves_send_p50_ms?: number;
    moves_send_p99_ms?: number;
    moves_read_p50_ms?: number;
    moves_read_p99_ms?: number;
  };
  /**
   * Thread time the read side covers, ms (each connection's measurement window, added); with
   * `histograms.read_gap_us` (the busy intervals, µs) it gives the read delay of merged files.
   */
  read_window_ms?: number;
  /**
   * The share of the measurement in which some thread of the load host waited for a CPU (Linux
   * PSI, `/proc/pressure/cpu` "some"), %; absent without PSI.
   */
  host_cpu_pressure_pct?: number;
  /** Values recorded at the histograms' highest trackable value (60 s) instead of their own. */
  clamped_values?: number;
  cpu_s: number;
  /** `cpu_s` over every call sent (warm-up included), µs: the generator's own cost per call. */
  cpu_us_per_call?: number;
  /** KiB the loops' V8 heaps allocated per measured call, from the first measured call on. */
  alloc_kb_per_call?: number;
  /** Event-loop turns the pacers spun per measured call. */
  spins_per_call?: number;
  rss_max_mb: number;
  /** Compressed base64 HdrHistograms in µs, keyed `latency_us`, `t_connect_us`, .... */
  histograms: Record<string, string>;
  /** Coldconn: failed attempts by phase. */
  failed_by_phase?: Record<string, number>;
  /** Coldconn: most attempts in progress at once. */
  max_overlap?: number;
}

/** A result line as read back from a file: untrusted, so every field is checked before use. */
export type UntrustedLine = Record<string, unknown>;

/**
 * Rounds milliseconds to microseconds, the resolution results are written in.
 *
 * @example
 * ```ts
 * r3(5.83049); // 5.83
 * ```
 */
export function r3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** `v` when it is a finite number, else undefined: how readers take a number field. */
export function finite(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** The largest `df-handling-us` smft accepts: 60 s, the histograms' highest trackable value. */
const MAX_HANDLING_US = 60_000_000;

/**
 * df's handling time from its `df-handling-us` trailer, which is untrusted: a decimal integer
 * of microseconds from 0 to {@link MAX_HANDLING_US} gives `df_ms`; anything else (negative, a
 * fraction, `abc`, `99999999999999999999`, several values) gives `df_bad`, the raw text cut to 40
 * characters, and no `df_ms`. A time above `withinMs`, the call's own time as the client saw it
 * (the server's handling happens inside it), is impossible: `df_bad` says so, with both.
 *
 * @example
 * ```ts
 * handlingTime(["5011"]); // { df_ms: 5.011 }
 * handlingTime(["-3"]); // { df_bad: "-3" }
 * handlingTime(["50000000"], 5.2); // { df_bad: "50000000 us: above the call's own 5.2 ms" }
 * handlingTime([]); // {}
 * ```
 */
export function handlingTime(values: readonly unknown[] | undefined, withinMs?: number): {
  df_ms?: number;
  df_bad?: string;
} {
  if (!values || values.length === 0) return {};
  const raw = values.map((v) => typeof v === "string" ? v : String(v)).join(",");
  if (values.length === 1 && /^\d{1,8}$/.test(raw) && Number(raw) <= MAX_HANDLING_US) {
    const ms = Number(raw) / 1000;
    if (withinMs !== undefined && ms > withinMs) {
      return { df_bad: `${raw} us: above the call's own ${r3(withinMs)} ms` };
    }
    return { df_ms: ms };
  }
  return { df_bad: raw.slice(0, 40) };
}

/**
 * The longest text a result line keeps of what the server said (a status message, ...): far
 * under a reader's line limit (65,536 characters), so that a hostile message never makes a line
 * that readers skip.
 */
const MAX_MESSAGE_CHARS = 1000;

/**
 * `text` cut to {@link MAX_MESSAGE_CHARS}, saying how long it was.
 *
 * @example
 * ```ts
 * cutMessage("x".repeat(66000)).length; // 1000 + the note
 * ```
 */
export function cutMessage(text: string): string;
export function cutMessage(text: string | undefined): string | undefined;
export function cutMessage(text: string | undefined): string | undefined {
  if (text === undefined || text.length <= MAX_MESSAGE_CHARS) return text;
  return `${text.slice(0, MAX_MESSAGE_CHARS)}... (cut, ${text.length} characters)`;
}

/** A unary call that ended OK without its one response message: a failure, never OK. */
export const NO_MESSAGE = "no response message (the server ended the call OK without one)";

/** gRPC status names by code, 0 to 16. */
const STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/**
 * The name of a status code as grpc-js gave it; a code that is not an integer from 0 to 16
 * (grpc-js gives `NaN` for a `grpc-status` of `abc`) is `INTERNAL` (as grpc-go calls a
 * malformed status), never OK and never "NaN".
 */
export function statusName(code: number): { ok: boolean; code?: string; malformed: boolean } {
  if (Number.isInteger(code) && code >= 0 && code <= 16) {
    return code === 0 ? { ok: true, malformed: false } : {
      ok: false,
      code: STATUS_NAMES[code],
      malformed: false,
    };
  }
  return { ok: false, code: "INTERNAL", malformed: true };
}
