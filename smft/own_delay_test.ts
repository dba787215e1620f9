import assert from "node:assert/strict";
import {
  addedDelayMoves,
  formatOwnDelay,
  ownAt,
  ownDelayOf,
  readDelayLevels,
  readDelayPercentile,
  ReadGaps,
} from "./own_delay.ts";
import { bucketsOf, newHistogram } from "./histogram.ts";

Deno.test("readDelayPercentile(): arrivals wait the rest of the interval they fall in (length-biased), time in the poll not at all", () => {
  // One 10 ms stall in 1 s: 1 % of arrivals wait, uniformly 0..10 ms.
  const stall = [{ topUs: 10_000, count: 1 }];
  assert.equal(readDelayPercentile(stall, 1000, 99), 0);
  assert.ok(Math.abs(readDelayPercentile(stall, 1000, 99.5) - 5) < 1e-9);
  assert.ok(Math.abs(readDelayPercentile(stall, 1000, 99.9) - 9) < 1e-9);
  // A thread always busy in 1 ms slices: every arrival waits 0..1 ms, median 0.5 ms.
  const slices = [{ topUs: 1000, count: 1000 }];
  assert.ok(Math.abs(readDelayPercentile(slices, 1000, 50) - 0.5) < 1e-9);
  assert.ok(Math.abs(readDelayPercentile(slices, 1000, 99) - 0.99) < 1e-9);
  // Two lengths: 990 ms of 10 µs turns and one 10 ms stall. P(wait > x) for x in 10 µs..10 ms is
  // (10 − x) / 1000, so the p99.8 is 8 ms whatever the short turns.
  const mixed = [{ topUs: 10, count: 99_000 }, { topUs: 10_000, count: 1 }];
  assert.ok(Math.abs(readDelayPercentile(mixed, 1000, 99.8) - 8) < 1e-9);
  assert.equal(readDelayPercentile([], 1000, 99), 0);
  assert.equal(readDelayPercentile(stall, 0, 99), 0);
});

Deno.test("ReadGaps records only inside its window, and ownDelayOf() reads both sides from it", () => {
  const g = new ReadGaps();
  g.busy(50); // before the window: not the run's
  g.start(0);
  for (let i = 0; i < 999; i++) g.busy(0.002);
  g.busy(30);
  assert.equal(g.stop(1000), 1000);
  assert.equal(g.hist.totalCount, 1000);
  const d = ownDelayOf({ p50: 0.01, p99: 0.2 }, { hist: g.hist, windowMs: 1000 });
  // 3 % of the time in a 30 ms stall: the p99 waits (30 − 10) ms = 20 ms, the p50 nothing.
  assert.equal(d.readP50, 0);
  assert.ok(Math.abs(d.readP99! - 20) < 0.05, String(d.readP99));
  assert.deepEqual(ownAt(d), { p50: 0.01, p99: 0.2 + d.readP99! });
  g.destroy();
});

Deno.test("busy intervals merged over connections give the mixture: windows add up", () => {
  const a = newHistogram(), b = newHistogram();
  a.recordValue(10_000); // one connection stalled 10 ms in its 1 s
  const merged = newHistogram();
  merged.add(a);
  merged.add(b);
  // Over 2 s of thread time, 0.5 % of arrivals fall in the stall.
  // (A histogram keeps 10 ms as its bucket's top, 10.007 ms.)
  assert.ok(readDelayPercentile(bucketsOf(merged), 2000, 99.5) < 0.01);
  const p9975 = readDelayPercentile(bucketsOf(merged), 2000, 99.75);
  assert.ok(Math.abs(p9975 - 5) < 0.01, String(p9975));
  for (const h of [a, b, merged]) h.destroy();
});

Deno.test("formatOwnDelay() gives both sides and how much of p50 and p99 they can account for", () => {
  assert.equal(
    formatOwnDelay({ sendP50: 0.01, sendP99: 0.2, readP50: 0.05, readP99: 0.4 }, {
      p50: 5.6,
      p99: 10.2,
    }),
    "Generator's own delay: send p50 0.01 / p99 0.20 ms, read p50 0.05 / p99 0.40 ms " +
      "(at most 0.06 ms of the p50 5.60 ms, 0.60 ms of the p99 10.20 ms)",
  );
  assert.match(formatOwnDelay({ sendP50: 0.01, sendP99: 0.2 }), /read side not measured$/);
});

Deno.test("addedDelayMoves(): a delay added to every call moves a percentile by what reaches it, not by its own percentile", () => {
  const calls = [{ topUs: 10_000, count: 100 }];
  // A constant delay moves every percentile by itself.
  assert.equal(addedDelayMoves(calls, Float64Array.from([2, 2]), 50), 2);
  // One call in four waits 1 ms: the p50 stays, the p99 moves by 1 ms.
  const quarter = Float64Array.from([0, 0, 0, 1]);
  assert.equal(addedDelayMoves(calls, quarter, 50), 0);
  assert.equal(addedDelayMoves(calls, quarter, 99), 1);
  // Calls spread over 1-100 ms, a delay of 5 ms for 0.5 % of arrivals: the p99 moves by far
  // less than 5 ms (it reaches the p99 only where the calls' own tail is within 5 ms of it).
  const spread = Array.from({ length: 100 }, (_, i) => ({ topUs: (i + 1) * 1000, count: 1 }));
  const rare = new Float64Array(1000);
  rare.fill(5, 995);
  const moved = addedDelayMoves(spread, rare.sort(), 99);
  assert.ok(moved >= 0 && moved < 1.1, String(moved)); // one 1 ms step of these calls, not 5
  assert.equal(addedDelayMoves([], quarter, 99), 0);
});

Deno.test("ownDelayOf() with the calls' times: the send side moves exactly (latency against issue to read), the read side by its distribution added once more", () => {
  const latency = newHistogram(), service = newHistogram(), gaps = newHistogram();
  // 1000 calls of 5 ms issued on time, 20 of them 3 ms late (latency 8 ms, service 5 ms).
  latency.recordValueWithCount(5000, 980);
  latency.recordValueWithCount(8000, 20);
  service.recordValueWithCount(5000, 1000);
  // The thread was busy in 30 ms stalls 3 % of its 1 s: the read p99 is 20 ms by itself.
  gaps.recordValue(30_000);
  const d = ownDelayOf({ p50: 0, p99: 3 }, { hist: gaps, windowMs: 1000 }, undefined, {
    latency,
    service,
  });
  assert.ok(d.moves, "moves known with the calls' times");
  assert.equal(d.moves.sendP50, 0);
  // The late calls are 2 % of them: the p99 is theirs, 3 ms over what issue-to-read gives.
  assert.ok(Math.abs(d.moves.sendP99 - 3) < 0.01, String(d.moves.sendP99));
  assert.equal(d.moves.readP50, 0);
  assert.ok(d.moves.readP99 > 10 && d.moves.readP99 <= 20.1, String(d.moves.readP99));
  assert.deepEqual(ownAt(d), {
    p50: 0,
    p99: d.moves.sendP99 + d.moves.readP99,
  });
  assert.match(
    formatOwnDelay(d, { p50: 5, p99: 8 }),
    /\(moves the p50 5\.00 ms by 0\.00 ms, the p99 8\.00 ms by \d+\.\d\d ms\)$/,
  );
  // Without a read side measured, the read side moves nothing.
  const sendOnly = ownDelayOf({ p50: 0, p99: 3 }, undefined, undefined, { latency, service });
  assert.deepEqual(sendOnly.moves && [sendOnly.moves.readP50, sendOnly.moves.readP99], [0, 0]);
  for (const h of [latency, service, gaps]) h.destroy();
});

Deno.test("readDelayLevels() takes the larger of the turn gaps' and the I/O probe's figure at each level", () => {
  const io = newHistogram();
  io.recordValueWithCount(500, 98);
  io.recordValueWithCount(4000, 2);
  const stall = [{ topUs: 10_000, count: 1 }];
  const levels = readDelayLevels({ buckets: stall, windowMs: 1000 }, io);
  const n = levels.length;
  assert.ok(levels.every((v, i) => i === 0 || v >= levels[i - 1]), "ascending");
  assert.ok(Math.abs(levels[n / 2] - 0.5) < 0.01, String(levels[n / 2])); // the probe's p50
  assert.ok(levels[n - 1] > 9, String(levels[n - 1])); // the stall's tail
  assert.equal(readDelayLevels(undefined, undefined)[n - 1], 0);
  io.destroy();
});
