import assert from "node:assert/strict";
import { meanWaitUs, parseSchedstat, readSched, waitBetween } from "./cpu_wait.ts";

Deno.test("parseSchedstat() reads the wait and the count; meanWaitUs() pools threads by their schedulings", () => {
  assert.deepEqual(parseSchedstat("123456 7890000 42\n"), { waitNs: 7890000, slices: 42 });
  assert.equal(parseSchedstat("garbage"), undefined);
  const a = waitBetween({ waitNs: 1_000, slices: 10 }, { waitNs: 2_001_000, slices: 110 });
  assert.deepEqual(a, { waitNs: 2_000_000, slices: 100 });
  // 2 ms over 100 and 6 ms over 100: 40 µs per scheduling, not the mean of 20 and 60 weighted alike.
  assert.equal(meanWaitUs([a, { waitNs: 6_000_000, slices: 100 }]), 40);
  assert.equal(meanWaitUs([]), undefined);
  assert.equal(meanWaitUs([{ waitNs: 5, slices: 0 }]), undefined);
});

Deno.test("readSched() reads this thread's real schedstat on Linux (undefined elsewhere)", async () => {
  const r0 = readSched();
  if (Deno.build.os !== "linux") return assert.equal(r0, undefined);
  assert.ok(r0 && r0.slices > 0, JSON.stringify(r0));
  await new Promise((r) => setTimeout(r, 20));
  const r1 = readSched()!;
  assert.ok(r1.slices > r0.slices, "a sleep and a wake-up are one more scheduling");
  assert.equal(readSched("/nonexistent/schedstat"), undefined);
});
