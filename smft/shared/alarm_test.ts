import assert from "node:assert/strict";
import { WorkerAlarm } from "./alarm.ts";

/** Sets the alarm `n` times, `stepMs` apart; returns how late each ran, ms. */
async function run(alarm: WorkerAlarm, n: number, stepMs: number): Promise<number[]> {
  const late: number[] = [];
  const t0 = performance.now() + 50;
  for (let i = 0; i < n; i++) {
    const due = t0 + i * stepMs;
    await new Promise<void>((resolve) =>
      alarm.set(due, () => {
        late.push(performance.now() - due);
        resolve();
      })
    );
  }
  return late;
}

Deno.test("WorkerAlarm runs each callback at or after its instant, once, and learns to wake its thread early", async () => {
  const alarm = new WorkerAlarm();
  try {
    const late = await run(alarm, 300, 1);
    assert.ok(late.every((ms) => ms >= 0), `ran early: ${Math.min(...late)}`);
    assert.ok(alarm.leadMs > 0 && alarm.leadMs <= 0.5, `lead ${alarm.leadMs}`);
  } finally {
    alarm.close();
  }
});

Deno.test("WorkerAlarm: a new instant replaces the pending one; clear() forgets it", async () => {
  const alarm = new WorkerAlarm();
  try {
    const ran: string[] = [];
    const now = performance.now();
    alarm.set(now + 30, () => ran.push("first"));
    alarm.set(now + 10, () => ran.push("second"));
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(ran, ["second"]);
    alarm.set(performance.now() + 10, () => ran.push("cleared"));
    alarm.clear();
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(ran, ["second"]);
  } finally {
    alarm.close();
  }
});
