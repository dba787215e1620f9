import assert from "node:assert/strict";
import {
  dueBy,
  intendedAt,
  pace,
  type Plan,
  plannedRate,
  totalRequests,
  warmupRequests,
} from "./schedule.ts";
import { achievedRate, judgeRun } from "./verdict.ts";

const plan = (o: Partial<Plan> = {}): Plan => ({
  t0: 1000,
  rate: 200,
  warmupMs: 1000,
  durationMs: 3000,
  ...o,
});

Deno.test("schedule() places request i at t0 + i / rate", () => {
  const p = plan();
  assert.equal(intendedAt(p, 0), 1000);
  assert.equal(intendedAt(p, 1), 1005);
  assert.equal(intendedAt(p, 200), 2000);
});

Deno.test("schedule() counts what is owed: nothing before t0, one at t0, one more per interval", () => {
  const p = plan();
  assert.equal(dueBy(p, 999.999), 0);
  assert.equal(dueBy(p, 1000), 1);
  assert.equal(dueBy(p, 1004.999), 1);
  assert.equal(dueBy(p, 1005), 2);
});

Deno.test("schedule() sends everything owed after a stall (catch-up), nothing skipped", () => {
  const p = plan();
  let sent = 0;
  let a = pace(p, 1000, sent);
  assert.equal(a.send, 1);
  sent += a.send;
  assert.equal(a.nextAt, 1005);
  // The generator stalls for 250 ms: 50 more are owed at once.
  a = pace(p, 1250, sent);
  assert.equal(a.send, 50);
  sent += a.send;
  assert.equal(a.nextAt, 1255);
});

Deno.test("schedule() ends with exactly rate × (warm-up + duration) requests", () => {
  const p = plan();
  assert.equal(totalRequests(p), 800);
  assert.equal(warmupRequests(p), 200);
  const end = pace(p, 1e12, 0);
  assert.equal(end.send, 800);
  assert.equal(end.nextAt, undefined);
  assert.equal(pace(p, 1e12, 800).send, 0);
});

Deno.test("schedule() does not drift over 1e6 intervals", () => {
  const p = plan({ rate: 3000, durationMs: 1e9, warmupMs: 0 });
  // Stepping interval by interval, as a paced loop would, lands on exact multiples.
  let sent = 0;
  for (let i = 0; i < 1e6; i++) {
    const a = pace(p, intendedAt(p, i), sent);
    assert.equal(a.send, 1, `interval ${i}`);
    sent += a.send;
  }
  assert.ok(Math.abs(intendedAt(p, 1e6) - (1000 + 1e6 / 3)) < 1e-6);
});

Deno.test("schedule() interleaves shards into one even combined schedule", () => {
  const base = { t0: 0, rate: 1000, warmupMs: 0, durationMs: 1000 };
  const a = { ...base, shardIndex: 0, shardCount: 2 };
  const b = { ...base, shardIndex: 1, shardCount: 2 };
  assert.equal(totalRequests(a), 500);
  assert.equal(totalRequests(b), 500);
  const times = [
    ...Array.from({ length: 500 }, (_, j) => intendedAt(a, j)),
    ...Array.from({ length: 500 }, (_, j) => intendedAt(b, j)),
  ].sort((x, y) => x - y);
  times.forEach((t, i) => assert.ok(Math.abs(t - i) < 1e-9, `combined request ${i} at ${t}`));
  assert.equal(dueBy(b, 0.5), 0);
  assert.equal(dueBy(b, 1), 1);
  assert.equal(dueBy(a, 1.5), 1);
  assert.equal(dueBy(a, 2), 2);
});

Deno.test("schedule() handles uneven shard splits and fractional rates", () => {
  const base = { t0: 0, rate: 10, warmupMs: 0, durationMs: 1000 };
  const counts = [0, 1, 2].map((k) => totalRequests({ ...base, shardIndex: k, shardCount: 3 }));
  assert.deepEqual(counts, [4, 3, 3]);
  assert.equal(totalRequests({ t0: 0, rate: 0.5, warmupMs: 0, durationMs: 10_000 }), 5);
});

/** Coefficient of variation (sd / mean) of the gaps between consecutive instants. */
function gapCv(times: number[]): number {
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
  return sd / mean;
}

/**
 * Drives a plan the way the open loop does, on a fake clock that jumps to each `nextAt` (and
 * stalls once for `stallMs` at `stallAt`): the instants each request was sent at, by index.
 */
function fakeClockRun(p: Plan, stall?: { at: number; ms: number }): number[] {
  const sentAt: number[] = [];
  let now = p.t0;
  let stalled = false;
  for (;;) {
    if (stall && !stalled && now >= stall.at) {
      now += stall.ms;
      stalled = true;
    }
    const a = pace(p, now, sentAt.length);
    for (let i = 0; i < a.send; i++) sentAt.push(now);
    if (a.nextAt === undefined) return sentAt;
    assert.ok(a.nextAt >= now, "the next instant is never in the past");
    now = a.nextAt;
  }
}

Deno.test("arrival poisson: gaps have a coefficient of variation near 1, constant near 0", () => {
  const poisson = plan({ arrival: "poisson", seed: 7, rate: 1000, durationMs: 20_000 });
  const constant = plan({ rate: 1000, durationMs: 20_000 });
  const sentP = fakeClockRun(poisson);
  const sentC = fakeClockRun(constant);
  // On time, the fake clock sends each request exactly at its intended instant.
  assert.deepEqual(sentP, sentP.map((_, j) => intendedAt(poisson, j)));
  assert.equal(sentP.length, totalRequests(poisson));
  const cvP = gapCv(sentP);
  const cvC = gapCv(sentC);
  assert.ok(Math.abs(cvP - 1) < 0.03, `poisson CV ${cvP}`);
  assert.ok(cvC < 1e-6, `constant CV ${cvC}`);
  // The mean gap is 1 / rate: about rate x time requests (21,000 here, ~145 sd).
  assert.ok(Math.abs(sentP.length - 21_000) < 600, `poisson count ${sentP.length}`);
  assert.equal(sentC.length, 21_000);
});

Deno.test("arrival poisson: the same seed gives the same plan; another seed another", () => {
  const a = plan({ arrival: "poisson", seed: 42 });
  const times = (p: Plan) => Array.from({ length: totalRequests(p) }, (_, j) => intendedAt(p, j));
  const first = times(a);
  // Asked again, in another order, through a fresh object: the same instants.
  assert.deepEqual(times({ ...a }).reverse(), [...first].reverse());
  assert.equal(intendedAt({ ...a }, 500), first[500]);
  assert.deepEqual(fakeClockRun({ ...a }), first);
  const b = times(plan({ arrival: "poisson", seed: 43 }));
  assert.notDeepEqual(b.slice(0, 10), first.slice(0, 10));
  // Warm-up counts the instants before its end.
  assert.equal(warmupRequests(a), first.filter((t) => t < a.t0 + a.warmupMs).length);
});

Deno.test("arrival poisson: shards split one combined plan exactly (same seed on each)", () => {
  const whole = plan({ arrival: "poisson", seed: 9, rate: 900 });
  const times = (p: Plan) => Array.from({ length: totalRequests(p) }, (_, j) => intendedAt(p, j));
  const all = times(whole);
  for (const n of [2, 3, 4]) {
    const shards = Array.from(
      { length: n },
      (_, k) => ({ ...whole, shardIndex: k, shardCount: n }),
    );
    const merged = shards.flatMap(times).sort((x, y) => x - y);
    assert.deepEqual(merged, all, `${n} shards`);
    assert.equal(shards.reduce((s, p) => s + warmupRequests(p), 0), warmupRequests(whole));
    // Each shard driven on its own fake clock sends its own instants, on time.
    for (const s of shards) assert.deepEqual(fakeClockRun(s), times(s));
  }
});

Deno.test("arrival poisson: after a stall everything owed is sent at once (catch-up)", () => {
  const p = plan({ arrival: "poisson", seed: 3 });
  const stallAt = p.t0 + 1500;
  const sent = fakeClockRun(p, { at: stallAt, ms: 200 });
  assert.equal(sent.length, totalRequests(p), "nothing skipped");
  const owed = sent.filter((_, j) =>
    intendedAt(p, j) >= stallAt && intendedAt(p, j) <= stallAt + 200
  );
  assert.ok(owed.length > 20);
  // Every request due during the stall went out at its end, none before its instant.
  sent.forEach((t, j) => assert.ok(t >= intendedAt(p, j)));
  assert.ok(sent.filter((t) => t === sent.find((x) => x >= stallAt + 200)).length >= owed.length);
});

Deno.test("arrival poisson: a generator that keeps the plan meets the verdict's rate rule", () => {
  // A short plan: its count is off the nominal rate by more than the 1 % tolerance.
  const p = plan({ arrival: "poisson", seed: 5, rate: 100, warmupMs: 0, durationMs: 2000 });
  const total = totalRequests(p);
  const last = intendedAt(p, total - 1);
  const target = plannedRate(p);
  const sentOnTime = achievedRate({
    issued: total,
    firstDue: p.t0,
    lastIssued: last,
    hostRate: target,
  });
  assert.ok(Math.abs(sentOnTime.rate - target) / target < 1e-3, `${sentOnTime.rate} vs ${target}`);
  assert.equal(judgeRun({ targetRate: target, achievedRate: sentOnTime.rate }).valid, true);
  const nominal =
    achievedRate({ issued: total, firstDue: p.t0, lastIssued: last, hostRate: 100 }).rate;
  assert.ok(Math.abs(nominal - 100) / 100 > 0.01, `this seed's plan is off nominal: ${nominal}`);
  // Constant plans keep the nominal rate as the target.
  assert.equal(plannedRate(plan({ rate: 100, shardCount: 4 })), 25);
});
