import assert from "node:assert/strict";
import {
  type Clock,
  type LoopCalls,
  OpenLoop,
  type OpenLoopOptions,
  type Outcome,
} from "./open_loop.ts";
import type { Plan } from "./schedule.ts";

/** A clock that moves only when the test says so; callbacks run in due order. */
class FakeClock implements Clock {
  t = 0;
  #q: { due: number; seq: number; cb: () => void }[] = [];
  #seq = 0;
  now(): number {
    return this.t;
  }
  at(due: number, cb: () => void): void {
    this.#q.push({ due, seq: this.#seq++, cb });
    this.#q.sort((a, b) => a.due - b.due || a.seq - b.seq);
  }
  /** Runs every callback due up to `to` (the clock jumps to each due time), then sets `to`. */
  async advance(to: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.#q[0];
      if (!next || next.due > to) break;
      this.#q.shift();
      this.t = Math.max(this.t, next.due);
      next.cb();
    }
    this.t = Math.max(this.t, to);
    await settle();
  }
}

/** Lets promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

interface Launched {
  j: number;
  intended: number;
  issued: number;
  end: (o: Outcome) => void;
}

/** A loop over `plan`; `over` replaces its options and its calls' (`burst`, `abandon`, ...). */
function setup(
  plan: Plan,
  over: Partial<Omit<OpenLoopOptions, "calls"> & Omit<LoopCalls, "clock" | "launch">> = {},
) {
  const clock = new FakeClock();
  const launched: Launched[] = [];
  const { abandon = () => {}, boundMs = 100, burst = 1000, ...options } = over;
  const loop = new OpenLoop({
    plan,
    total: Math.round((plan.warmupMs + plan.durationMs) * plan.rate / 1000),
    firstMeasured: Math.round(plan.warmupMs * plan.rate / 1000),
    calls: {
      clock,
      launch: (j, intended, issued) =>
        new Promise((end) => launched.push({ j, intended, issued, end })),
      abandon,
      boundMs,
      burst,
    },
    warmupS: plan.warmupMs / 1000,
    totalS: (plan.warmupMs + plan.durationMs) / 1000,
    ...options,
  });
  return { clock, launched, loop };
}

const PLAN: Plan = { t0: 10, rate: 1000, warmupMs: 0, durationMs: 10 };

Deno.test("OpenLoop launches each request at its intended instant when on time", async () => {
  const { clock, launched, loop } = setup(PLAN);
  const done = loop.run();
  for (let t = 10; t <= 20; t++) {
    await clock.advance(t);
    for (const l of launched) l.end({ ok: true });
  }
  const totals = await done;
  assert.equal(totals.sent, 10);
  assert.deepEqual(launched.map((l) => l.issued - l.intended), Array(10).fill(0));
  assert.equal(totals.interrupted, false);
  assert.equal(totals.lastIssuedMeasured, 19);
});

Deno.test("OpenLoop sends everything owed after a stall, lag measured from the intended time", async () => {
  const { clock, launched, loop } = setup(PLAN);
  const done = loop.run();
  // The first wake-up comes 5.5 ms late: requests 0..5 are owed and go at once.
  clock.t = 15.5;
  await clock.advance(15.5);
  assert.deepEqual(launched.map((l) => l.j), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(launched.map((l) => l.issued), Array(6).fill(15.5));
  assert.deepEqual(launched.map((l) => l.issued - l.intended), [5.5, 4.5, 3.5, 2.5, 1.5, 0.5]);
  await clock.advance(30);
  for (const l of launched) l.end({ ok: true });
  assert.equal((await done).sent, 10);
});

Deno.test("OpenLoop catches up in bursts no larger than `burst`, never skipping", async () => {
  const { clock, launched, loop } = setup(PLAN, { burst: 4 });
  const done = loop.run();
  clock.t = 25;
  await clock.advance(25);
  // 10 owed: 4, then 4, then 2, each in its own turn at the same instant.
  assert.deepEqual(launched.map((l) => l.j), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (const l of launched) l.end({ ok: true });
  const totals = await done;
  assert.equal(totals.sent, 10);
  assert.equal(totals.maxInflight, 10);
});

Deno.test("OpenLoop counts warm-up apart: measured sends and progress start after it", async () => {
  const progress: { ok: number; phase: string }[] = [];
  const plan: Plan = { t0: 0, rate: 10, warmupMs: 1000, durationMs: 1000 };
  let measureStartedAt: number | undefined;
  const { clock, launched, loop } = setup(plan, {
    onMeasureStart: () => measureStartedAt = clock.now(),
    onProgress: (p) => progress.push({ ok: p.ok, phase: p.phase }),
  });
  const done = loop.run();
  for (let t = 0; t <= 2000; t += 50) {
    await clock.advance(t);
    for (const l of launched) l.end({ ok: true });
  }
  const totals = await done;
  assert.equal(totals.sent, 20);
  assert.equal(totals.measuredSent, 10);
  assert.equal(measureStartedAt, 1000);
  // At 1 s only warm-up had ended: nothing measured yet.
  assert.deepEqual(progress[0], { ok: 0, phase: "measure" });
});

Deno.test("OpenLoop stops scheduling on abort and still waits for what is in flight", async () => {
  const ctl = new AbortController();
  const { clock, launched, loop } = setup(PLAN, { signal: ctl.signal });
  const done = loop.run();
  await clock.advance(12);
  assert.equal(launched.length, 3);
  ctl.abort();
  await clock.advance(30);
  assert.equal(launched.length, 3, "nothing launched after the interrupt");
  let finished = false;
  done.then(() => finished = true);
  await settle();
  assert.equal(finished, false, "waits for the three in flight");
  for (const l of launched) l.end({ ok: false });
  const totals = await done;
  assert.equal(totals.interrupted, true);
  assert.equal(totals.sent, 3);
  assert.equal(totals.abandoned, 0);
});

Deno.test("OpenLoop abandons what is still in flight once the bound after the plan has passed", async () => {
  let abandonedAt: number | undefined;
  const { clock, launched, loop } = setup(PLAN, {
    boundMs: 100,
    abandon: () => {
      abandonedAt = clock.now();
      for (const l of launched) l.end({ ok: false });
    },
  });
  const done = loop.run();
  await clock.advance(20);
  // The last request went at 19; the plan ended there. Nothing answers.
  await clock.advance(110);
  assert.equal(abandonedAt, undefined, "not before the bound");
  await clock.advance(200);
  const totals = await done;
  assert.equal(abandonedAt, 119);
  assert.equal(totals.abandoned, 10);
});
