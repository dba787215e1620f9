import { deepStrictEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  type CapacityAnswer,
  type CapacityOptions,
  type CapacityRun,
  findCapacity,
  formatCapacitySteps,
  planCapacity,
  type StepResult,
} from "./capacity.ts";
import { parseSlo } from "./slo.ts";
import type { Summary } from "./summary.ts";

/** Replays the planner against a service described by two functions of the rate. */
function search(
  opts: CapacityOptions,
  sloPass: (rate: number) => boolean,
  valid: (rate: number) => boolean = () => true,
): CapacityAnswer {
  const steps: StepResult[] = [];
  for (let i = 0; i < 100; i++) {
    const p = planCapacity(steps, opts);
    if (p.done) return p;
    steps.push({ rate: p.next, sloPass: sloPass(p.next), valid: valid(p.next) });
  }
  throw new Error("the search did not end");
}

Deno.test("planCapacity climbs by the factor, then bisects to within the precision", () => {
  const a = search({ start: 500 }, (r) => r <= 1430);
  equal(a.reason, "slo-failed");
  deepStrictEqual(a.steps.slice(0, 3).map((s) => s.rate), [500, 1000, 2000]);
  ok(a.capacity !== null && a.capacity <= 1430, String(a.capacity));
  ok(a.failedAt! > 1430 && a.failedAt! - a.capacity! <= 0.05 * a.capacity!, a.text);
  // 500, 1000, 2000, then 1500, 1250, 1375, 1438, 1407: eight runs.
  ok(a.steps.length <= 9, `${a.steps.length} steps`);
  ok(a.text.startsWith(`capacity ${a.capacity}/s: the highest rate that met the SLO`), a.text);
});

Deno.test("planCapacity stops where the generator falls behind, and says it was the generator", () => {
  const a = search({ start: 500 }, () => true, (r) => r < 1800);
  equal(a.reason, "generator-limit");
  ok(a.capacity! < 1800 && a.failedAt! >= 1800, a.text);
  ok(a.text.includes("the generator could not keep its schedule"), a.text);
});

Deno.test("an INVALID run that passed the SLO still bounds the search (nothing is known above it)", () => {
  // The SLO "passes" everywhere, but runs from 1000/s are INVALID.
  const a = search({ start: 1000, maxSteps: 4 }, () => true, (r) => r < 1000);
  equal(a.reason, "max-steps");
  // 1000/s is INVALID twice (run once more, as a stall may pass), then the search goes below.
  deepStrictEqual(a.steps.map((s) => s.rate), [1000, 1000, 500, 750]);
  equal(a.capacity, 750);
  equal(a.failedAt, 1000);
});

Deno.test("planCapacity runs an INVALID rate once more, and a VALID second run counts", () => {
  let first = true;
  // 2000/s is INVALID the first time only (a passing stall of the machine).
  const a = search({ start: 1000, maxRate: 4000 }, () => true, (r) => {
    if (r !== 2000 || !first) return true;
    first = false;
    return false;
  });
  deepStrictEqual(a.steps.slice(0, 4).map((s) => s.rate), [1000, 2000, 2000, 4000]);
  equal(a.reason, "max-rate");
  equal(a.capacity, 4000);
});

Deno.test("planCapacity reports max-rate when the highest allowed rate passes", () => {
  const a = search({ start: 500, maxRate: 3000 }, () => true);
  equal(a.reason, "max-rate");
  equal(a.capacity, 3000);
  deepStrictEqual(a.steps.map((s) => s.rate), [500, 1000, 2000, 3000]);
  ok(a.text.startsWith("capacity at least 3000/s"), a.text);
});

Deno.test("planCapacity steps down from a failing start, and gives up at minRate", () => {
  const a = search({ start: 1000 }, (r) => r <= 300);
  equal(a.reason, "slo-failed");
  ok(a.capacity! <= 300 && a.capacity! >= 285, a.text);
  deepStrictEqual(a.steps.slice(0, 3).map((s) => s.rate), [1000, 500, 250]);
  const none = search({ start: 100, minRate: 20 }, () => false);
  equal(none.reason, "failed-at-lowest");
  equal(none.capacity, null);
  deepStrictEqual(none.steps.map((s) => s.rate), [100, 50, 25]);
  ok(none.text.startsWith("no capacity found: the SLO was not met even at 25/s"), none.text);
});

Deno.test("planCapacity takes the answer below the first failure when a higher rate passes again", () => {
  const steps: StepResult[] = [
    { rate: 500, sloPass: true, valid: true },
    { rate: 1000, sloPass: false, valid: true },
    { rate: 2000, sloPass: true, valid: true },
    { rate: 750, sloPass: true, valid: true },
    { rate: 875, sloPass: true, valid: true },
    { rate: 938, sloPass: true, valid: true },
    { rate: 969, sloPass: true, valid: true },
  ];
  const a = planCapacity(steps, { start: 500 });
  ok(a.done, JSON.stringify(a));
  equal(a.capacity, 969);
  deepStrictEqual(a.passedAbove, [2000]);
  ok(a.text.includes("2000/s met it again above 1000/s"), a.text);
});

Deno.test("planCapacity honours maxSteps and refuses bad options", () => {
  const a = search({ start: 500, maxSteps: 4 }, (r) => r <= 1430);
  equal(a.reason, "max-steps");
  equal(a.steps.length, 4);
  equal(a.capacity, 1000);
  ok(a.text.includes("or a little more"), a.text);
  throws(() => planCapacity([], { factor: 1 }), /factor must be above 1/);
  throws(() => planCapacity([], { start: 0 }), /start must be a rate above 0/);
  throws(() => planCapacity([], { start: 5000, maxRate: 100 }), /maxRate must be at least/);
  throws(() => planCapacity([], { precision: 2 }), /precision/);
  throws(() => planCapacity([], { maxSteps: 0 }), /maxSteps/);
});

Deno.test("planCapacity is a function of its steps: the same steps give the same plan", () => {
  const steps: StepResult[] = [
    { rate: 500, sloPass: true, valid: true },
    { rate: 1000, sloPass: false, valid: true },
  ];
  deepStrictEqual(planCapacity(steps), { done: false, next: 750, phase: "bisect" });
  deepStrictEqual(planCapacity([...steps].reverse()), { done: false, next: 750, phase: "bisect" });
});

function fakeSummary(rate: number, p99: number): Summary {
  const stat = {
    count: 100,
    mean: 5,
    min: 4,
    max: p99 * 2,
    p50: 5,
    p90: 6,
    p95: 7,
    p99,
    p999: p99,
  };
  return {
    test: "01_steady",
    total: 100,
    ok: 100,
    failed: 0,
    successPct: 100,
    byCode: {},
    latency: stat,
    achievedRate: rate,
    durationS: 1,
  } as Summary;
}

Deno.test("findCapacity drives runOne, judges each run's SLO and verdict, and reports every step", async () => {
  const ran: number[] = [];
  const seen: string[] = [];
  // p99 grows past 10 ms above 1200/s; the generator falls behind from 5000/s.
  const runOne = (rate: number): Promise<CapacityRun> => {
    ran.push(rate);
    return Promise.resolve({
      file: `results/01_steady_results_${rate}rps.txt`,
      summary: fakeSummary(rate, rate <= 1200 ? 8 : 30),
      verdict: { valid: rate < 5000, reasons: rate < 5000 ? [] : ["lag p99 3.1 ms (limit 1 ms)"] },
      interrupted: false,
    });
  };
  const a = await findCapacity(
    { slo: parseSlo("p99<10ms,success>=99.9%"), onStep: (s) => seen.push(`${s.rate}`) },
    runOne,
  );
  deepStrictEqual(seen, ran.map(String));
  equal(a.reason, "slo-failed");
  ok(a.capacity! <= 1200 && a.capacity! >= 1140, a.text);
  ok(a.text.includes("p99<10ms: measured 30"), a.text);
  const table = formatCapacitySteps(a);
  ok(table.includes("results/01_steady_results_1000rps.txt"), table);
  equal(table.split("\n").length, a.steps.length + 1);
  await rejects(findCapacity({ slo: [] }, runOne), /an SLO is needed/);
});

Deno.test("findCapacity stops at an interrupted run and keeps what it knew", async () => {
  const a = await findCapacity(
    { slo: parseSlo("p99<10ms"), start: 500 },
    (rate) =>
      Promise.resolve({
        file: `f${rate}`,
        summary: fakeSummary(rate, 5),
        verdict: { valid: rate < 1000, reasons: [] },
        interrupted: rate >= 1000,
      }),
  );
  equal(a.reason, "interrupted");
  equal(a.capacity, 500);
  ok(a.failedAt === undefined, "an interrupted run is not a failure");
});
