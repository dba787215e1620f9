/**
 * The open-loop plan: when each request should be sent. Pure functions of the plan and the
 * clock, counted from the start (never from the last send), so the schedule cannot drift.
 *
 * With `--shard k/n`, host k sends the requests k-1, k-1+n, k-1+2n, ... of one combined
 * schedule at the total rate, so n hosts together send an even stream.
 *
 * Arrivals are `constant` (request i at `t0 + i / rate`) or `poisson`: the gaps between
 * instants of the combined schedule are exponential with mean `1 / rate`, drawn from a seeded
 * generator, so the same seed gives the same combined plan on every shard and every connection
 * (each walks the one sequence and takes its own indexes). Instants are still the plan: latency
 * is measured from them and catch-up sends everything owed.
 *
 * @module
 */

/** A schedule. Times are on one monotonic clock, in ms. */
export interface Plan {
  /** When request 0 of the combined schedule is due. */
  t0: number;
  /** Combined rate of all shards, per second. */
  rate: number;
  /** Warm-up at the start: requests due before `t0 + warmupMs` are sent but not recorded. */
  warmupMs: number;
  /** Measurement after warm-up. */
  durationMs: number;
  /** This host's shard, 0-based. @default 0 */
  shardIndex?: number;
  /** Number of shards. @default 1 */
  shardCount?: number;
  /** How instants are spaced. @default "constant" */
  arrival?: Arrival;
  /** Seed of the Poisson gaps (a 32-bit unsigned integer). @default 1 */
  seed?: number;
}

/** The arrival processes. */
export const ARRIVALS = ["constant", "poisson"] as const;
/** An arrival process. */
export type Arrival = typeof ARRIVALS[number];

/**
 * sfc32 (Chris Doty-Humphrey's small fast counter generator), seeded from one 32-bit integer.
 * Written out rather than taken from a package: its stream is part of a results file's replay
 * (`#META.seed`), so it must never change under a dependency upgrade.
 */
class Sfc32 {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = seed >>> 0;
    for (let i = 0; i < 12; i++) this.next32();
  }
  next32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return ((this.next32() >>> 5) * 67108864 + (this.next32() >>> 6)) / 9007199254740992;
  }
}

/**
 * A walk along the combined Poisson sequence: `offset` is instant `index` in ms after `t0`.
 * Walks only forward; asked for an earlier index it starts again from 0, so the answers are a
 * pure function of (rate, seed, index), whatever was asked before.
 */
class PoissonWalk {
  #rng!: Sfc32;
  index = 0;
  offset = 0;
  /** Instant `index - 1`, ms after `t0` (-Infinity at the start). */
  prev = -Infinity;
  constructor(readonly rate: number, readonly seed: number) {
    this.#restart();
  }
  #restart(): void {
    this.#rng = new Sfc32(this.seed);
    this.index = 0;
    this.offset = 0;
    this.prev = -Infinity;
  }
  /** Moves to instant `i` (restarting when `i` is behind). */
  to(i: number): number {
    if (i < this.index) this.#restart();
    while (this.index < i) this.step();
    return this.offset;
  }
  step(): void {
    this.prev = this.offset;
    // Exponential gap by inversion; 1 - u is in (0, 1], so the log is finite.
    this.offset += (-Math.log(1 - this.#rng.next()) * 1000) / this.rate;
    this.index++;
  }
}

/**
 * Walks kept per (rate, seed, use): the open loop asks for instants in order, so each answer
 * costs a few steps. A cache only: dropping it changes no answer.
 */
const walks = new Map<string, PoissonWalk>();
function walk(p: Plan, use: string): PoissonWalk {
  const key = `${p.rate}|${p.seed ?? 1}|${use}`;
  let w = walks.get(key);
  if (!w) {
    if (walks.size > 64) walks.clear();
    w = new PoissonWalk(p.rate, p.seed ?? 1);
    walks.set(key, w);
  }
  return w;
}

/**
 * Combined instants strictly before `t`, of a Poisson plan (cached). Instants are compared as
 * `t0 + offset`, the very sum `intendedAt` returns, so a request is due exactly at its instant.
 */
const countsBefore = new Map<string, number>();
function poissonCountBefore(p: Plan, t: number): number {
  const key = `${p.rate}|${p.seed ?? 1}|${p.t0}|${t}`;
  const known = countsBefore.get(key);
  if (known !== undefined) return known;
  const w = new PoissonWalk(p.rate, p.seed ?? 1);
  while (p.t0 + w.offset < t) w.step();
  if (countsBefore.size > 64) countsBefore.clear();
  countsBefore.set(key, w.index);
  return w.index;
}

/** Instant of combined request `i`, in ms after `t0`. */
function combinedOffset(p: Plan, i: number): number {
  return p.arrival === "poisson" ? walk(p, "at").to(i) : (i * 1000) / p.rate;
}

/** Intended send time of this host's request `j`. */
export function intendedAt(p: Plan, j: number): number {
  const n = p.shardCount ?? 1;
  const k = p.shardIndex ?? 0;
  return p.t0 + combinedOffset(p, j * n + k);
}

/** How many of this host's requests have intended times strictly before `t` (ms). */
function countBefore(p: Plan, t: number): number {
  const n = p.shardCount ?? 1;
  const k = p.shardIndex ?? 0;
  // Combined index i is before t when i < (t - t0) * rate / 1000; this host owns i = j*n + k.
  const x = ((t - p.t0) * p.rate) / 1000;
  const combined = p.arrival === "poisson" ? poissonCountBefore(p, t) : Math.ceil(x - 1e-9); // indexes 0..combined-1 are before t
  return Math.max(0, Math.ceil((combined - k) / n));
}

/** This host's requests due at or before `now`. */
export function dueBy(p: Plan, now: number): number {
  const n = p.shardCount ?? 1;
  const k = p.shardIndex ?? 0;
  if (p.arrival === "poisson") {
    // Combined instants at or before now: walk on while the next one is due.
    const w = walk(p, "due");
    if (p.t0 + w.prev > now) w.to(0);
    while (p.t0 + w.offset <= now) w.step();
    const combined = w.index; // indexes 0..combined-1 are due
    return Math.max(0, Math.ceil((combined - k) / n));
  }
  const x = ((now - p.t0) * p.rate) / 1000;
  if (x < k) return 0;
  return Math.floor((Math.floor(x + 1e-9) - k) / n) + 1;
}

/** This host's requests in the whole run (warm-up and measurement). */
export function totalRequests(p: Plan): number {
  return countBefore(p, p.t0 + p.warmupMs + p.durationMs);
}

/** This host's requests in the warm-up; request `j` is measured when `j >= warmupRequests`. */
export function warmupRequests(p: Plan): number {
  return countBefore(p, p.t0 + p.warmupMs);
}

/** What to do now, given how many requests were already sent. */
export interface Pace {
  /** Requests to send now: everything owed, however late (catch-up). */
  send: number;
  /** When the next request is due, or `undefined` when the plan is complete. */
  nextAt?: number;
}

/** The pacing decision: everything owed now, and when to look again. */
export function pace(p: Plan, now: number, sent: number): Pace {
  const total = totalRequests(p);
  const owed = Math.min(dueBy(p, now), total);
  const send = Math.max(0, owed - sent);
  const next = sent + send;
  return { send, nextAt: next < total ? intendedAt(p, next) : undefined };
}

/**
 * This host's target rate for the verdict: the nominal share for constant arrivals; for Poisson,
 * the plan's own measured requests over its window (as the achieved rate is counted: to one
 * interval after the last), which a generator that keeps the plan achieves exactly.
 */
export function plannedRate(p: Plan, total: number = totalRequests(p)): number {
  const nominal = p.rate / (p.shardCount ?? 1);
  if (p.arrival !== "poisson") return nominal;
  const planned = total - warmupRequests(p);
  if (planned <= 0) return nominal;
  const windowS = (intendedAt(p, total - 1) - (p.t0 + p.warmupMs)) / 1000 + 1 / nominal;
  return planned / windowS;
}
