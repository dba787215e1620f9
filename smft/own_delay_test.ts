import assert from "node:assert/strict";
import { formatOwnDelay, ownAt, ownDelayOf, readDelayPercentile, ReadGaps } from "./own_delay.ts";
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
