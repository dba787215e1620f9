import assert from "node:assert/strict";
import { parseSomeTotal, pressurePct, PSI_CPU, readCpuPressure } from "./host_pressure.ts";

Deno.test("parseSomeTotal() reads the 'some' total of /proc/pressure/cpu", () => {
  const text = "some avg10=0.04 avg60=0.86 avg300=2.14 total=16210414\n" +
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
  assert.equal(parseSomeTotal(text), 16210414);
  assert.equal(parseSomeTotal("nonsense"), undefined);
});

Deno.test("pressurePct() is the stalled share of the wall time between two readings", () => {
  assert.equal(pressurePct({ totalUs: 1000, at: 0 }, { totalUs: 51_000, at: 1000 }), 5);
  assert.equal(pressurePct({ totalUs: 0, at: 5 }, { totalUs: 10, at: 5 }), undefined);
});

Deno.test("readCpuPressure() reads this host's PSI, or says there is none", () => {
  const r = readCpuPressure();
  let has = false;
  try {
    Deno.statSync(PSI_CPU);
    has = true;
  } catch { /* no PSI here */ }
  assert.equal(r !== undefined, has);
  assert.equal(readCpuPressure("/nonexistent/pressure"), undefined);
});
