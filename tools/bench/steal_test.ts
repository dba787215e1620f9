import assert from "node:assert/strict";
import { parseCpuLine, stealPercent } from "./steal.ts";

Deno.test("steal is the share of all CPU time the hypervisor took between two readings", () => {
  const a = parseCpuLine("cpu  100 0 50 800 10 0 20 20 5 0\ncpu0 50 0 25 400 5 0 10 10 0 0\n");
  const b = parseCpuLine("cpu  200 0 100 1400 10 0 40 250 9 0\n");
  assert.deepEqual(a, { total: 1000, steal: 20 });
  assert.deepEqual(b, { total: 2000, steal: 250 });
  assert.equal(stealPercent(a!, b!), 23);
  assert.equal(stealPercent(a!, a!), undefined);
  assert.equal(parseCpuLine("intr 1 2 3\n"), undefined);
  assert.equal(parseCpuLine("cpu 1 2 3\n"), undefined);
});
