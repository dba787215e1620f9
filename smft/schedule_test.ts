import assert from "node:assert/strict";
import { dueBy, intendedAt, pace, type Plan, totalRequests, warmupRequests } from "./schedule.ts";

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
