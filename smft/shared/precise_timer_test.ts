import assert from "node:assert/strict";
import { PreciseTimer } from "./precise_timer.ts";

Deno.test("PreciseTimer runs callbacks in due order, FIFO among equal times, none early", async () => {
  // Tolerance 0 is df's setting: a hold must never end before its delay.
  const timer = new PreciseTimer({ toleranceMs: 0 });
  await timer.ready();
  const base = performance.now() + 5;
  const dues = [3, 1, 2, 2, 0, 4].map((k) => base + k * 2);
  const fired: { i: number; at: number }[] = [];
  const all = dues.map((due, i) =>
    new Promise<void>((resolve) =>
      timer.at(due, () => {
        fired.push({ i, at: performance.now() });
        resolve();
      })
    )
  );
  await Promise.all(all);
  timer.close();
  assert.deepEqual(fired.map((f) => f.i), [4, 1, 2, 3, 0, 5]);
  for (const f of fired) assert.ok(f.at >= dues[f.i], `callback ${f.i} ran early`);
  assert.equal(timer.pending, 0);
});

Deno.test("PreciseTimer runs a callback whose time has passed at once, and refuses after close", async () => {
  const timer = new PreciseTimer();
  await timer.ready();
  await new Promise<void>((resolve) => timer.at(performance.now() - 100, resolve));
  timer.close();
  assert.throws(() => timer.at(performance.now(), () => {}), /closed/);
});
