import assert from "node:assert/strict";
import { combineProgress, combineTotals, connectionPlan } from "./connections.ts";
import { intendedAt, type Plan, totalRequests, warmupRequests } from "./schedule.ts";
import type { Progress } from "./open_loop.ts";

const times = (p: Plan) => Array.from({ length: totalRequests(p) }, (_, j) => intendedAt(p, j));

Deno.test("n connections together send exactly their host's requests, whatever the shard", () => {
  for (const m of [1, 2, 3]) {
    for (let i = 0; i < m; i++) {
      const host: Plan = {
        t0: 100,
        rate: 700,
        warmupMs: 300,
        durationMs: 1000,
        shardIndex: i,
        shardCount: m,
      };
      for (const n of [1, 2, 3, 5]) {
        const plans = Array.from({ length: n }, (_, k) => connectionPlan(host, k, n));
        const all = plans.flatMap(times).sort((a, b) => a - b);
        assert.deepEqual(all, times(host), `shard ${i + 1}/${m}, ${n} connections`);
        const warm = plans.reduce((s, p) => s + warmupRequests(p), 0);
        assert.equal(warm, warmupRequests(host), `warm-up, shard ${i + 1}/${m}, n ${n}`);
      }
    }
  }
});

Deno.test("the loops' totals add up; the last measured send is the latest; each thread's read side is kept", () => {
  const t = combineTotals([
    {
      interrupted: false,
      sent: 10,
      measuredSent: 8,
      lastIssuedMeasured: 50,
      maxInflight: 3,
      abandoned: 0,
      allocatedBytes: 1000,
      spins: 40,
      readGaps: [{ hist: "a", windowMs: 5000 }],
      ioProbes: ["pa"],
      ioProbeRtts: ["ra"],
    },
    {
      interrupted: true,
      sent: 9,
      measuredSent: 7,
      lastIssuedMeasured: 70,
      maxInflight: 2,
      abandoned: 1,
      allocatedBytes: 500,
      spins: 2,
      readGaps: [{ hist: "b", windowMs: 4000 }],
      ioProbes: [],
      ioProbeRtts: [],
    },
  ]);
  assert.deepEqual(t, {
    interrupted: true,
    sent: 19,
    measuredSent: 15,
    lastIssuedMeasured: 70,
    maxInflight: 5,
    abandoned: 1,
    allocatedBytes: 1500,
    spins: 42,
    readGaps: [{ hist: "a", windowMs: 5000 }, { hist: "b", windowMs: 4000 }],
    ioProbes: ["pa"],
    ioProbeRtts: ["ra"],
  });
});

Deno.test("the progress line of several connections shows the worst latency and lag", () => {
  const p = (rate: number, p99: number, lagP99: number): Progress => ({
    phase: "measure",
    elapsedS: 3,
    totalS: 10,
    rate,
    inflight: 2,
    ok: rate,
    errors: 1,
    p50: p99 / 2,
    p99,
    lagP99,
  });
  const c = combineProgress([p(500, 8, 0.2), p(500, 12, 3)]);
  assert.equal(c.rate, 1000);
  assert.equal(c.inflight, 4);
  assert.equal(c.ok, 1000);
  assert.equal(c.errors, 2);
  assert.equal(c.p50, 6);
  assert.equal(c.p99, 12);
  assert.equal(c.lagP99, 3);
});

Deno.test("arrival poisson: n connections of a shard send exactly their host's requests", () => {
  for (const m of [1, 2]) {
    for (let i = 0; i < m; i++) {
      const host: Plan = {
        t0: 100,
        rate: 700,
        warmupMs: 300,
        durationMs: 1000,
        shardIndex: i,
        shardCount: m,
        arrival: "poisson",
        seed: 11,
      };
      for (const n of [2, 3]) {
        const plans = Array.from({ length: n }, (_, k) => connectionPlan(host, k, n));
        assert.ok(plans.every((p) => p.arrival === "poisson" && p.seed === 11));
        const all = plans.flatMap(times).sort((a, b) => a - b);
        assert.deepEqual(all, times(host), `shard ${i + 1}/${m}, ${n} connections`);
      }
    }
  }
});
