import assert from "node:assert/strict";
import { HIGHEST_TRACKABLE_US, Series } from "./histogram.ts";

Deno.test("Series.record() clamps a value above the highest trackable one and skips non-numbers, never throws", () => {
  for (const wasm of [true, false]) {
    const s = new Series(wasm);
    s.record(5);
    // 1e17 ms: what a df-handling-us of 99999999999999999999 µs would have been.
    s.record(1e17);
    s.record(Number.NaN);
    s.record(Infinity);
    s.record(-3);
    assert.equal(s.count, 3);
    assert.equal(s.clamped, 1);
    assert.equal(s.skipped, 2);
    assert.equal(s.stat().max, HIGHEST_TRACKABLE_US / 1000);
    assert.equal(s.stat().min, 0);
    s.destroy();
  }
});
