import assert from "node:assert/strict";
import { formatOneCore, highestValid, type OneCoreResults } from "./one_core.ts";
import type { ClientRun } from "./calibrate.ts";

const run = (valid: boolean, p99: number, lagP99 = 0.1, achieved?: number): ClientRun => ({
  summary: { latency: { p50: 5.5, p99 }, lag: { p99: lagP99 } } as ClientRun["summary"],
  end: { valid, achieved_rps: achieved },
});

Deno.test("highestValid() stops at the first rate that fails, for smft and for the grpc-go client", () => {
  const clients: OneCoreResults["clients"] = new Map([
    [2000, { smft: run(true, 7), go: run(true, 6, 3) }],
    [500, { smft: run(true, 6), go: run(true, 6) }],
    [1000, { smft: run(false, 9), go: run(true, 6, 0.2, 995) }],
  ]);
  // smft: 1000/s failed, so 2000/s does not count; grpc-go: lag p99 3 ms at 2000/s.
  assert.deepEqual(highestValid(clients), { smft: 500, go: 1000 });
  assert.deepEqual(highestValid(new Map([[500, { smft: run(false, 9), go: run(true, 6) }]])), {
    go: 500,
  });
});

Deno.test("formatOneCore() prints both tables, the ratios and the highest rates", () => {
  const text = formatOneCore({
    clients: new Map([[1000, { smft: run(true, 7.8), go: run(true, 6), floorP99: 10.1 }]]),
    servers: new Map([[2000, { df: run(true, 9), go: run(true, 6) }]]),
  });
  assert.match(text, /1000\s+VALID\s+5\.50 \/ 7\.80\s+5\.50 \/ 6\.00\s+1\.30x\s+10\.10/);
  assert.match(text, /smft VALID up to 1000\/s; the grpc-go client .* up to 1000\/s/);
  assert.match(text, /2000\s+5\.50 \/ 9\.00\s+5\.50 \/ 6\.00\s+0\.00 ms\s+1\.50x/);
});
