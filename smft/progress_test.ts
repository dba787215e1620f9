import assert from "node:assert/strict";
import { formatProgress } from "./progress.ts";
import type { Progress } from "./open_loop.ts";

const base: Progress = {
  phase: "measure",
  elapsedS: 3,
  totalS: 10,
  rate: 1,
  inflight: 1,
  ok: 0,
  errors: 2,
  p50: 0,
  p99: 0,
  lagP99: 0.2,
};

Deno.test("formatProgress() shows '-' for a second with no result, not 0.00", () => {
  const line = formatProgress(base);
  assert.match(line, /p50 - p99 - ms \| lag p99 0\.20 ms/);
  assert.doesNotMatch(line, /p50 0\.00/);
  assert.match(formatProgress({ ...base, rate: 0, lagP99: 0 }), /lag p99 - ms/);
  assert.match(formatProgress({ ...base, p50: 5.1, p99: 7 }), /p50 5\.10 p99 7\.00 ms/);
});
