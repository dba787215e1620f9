import assert from "node:assert/strict";
import { runId } from "./run_meta.ts";

Deno.test("runId() is the same for every shard of one planned run and differs between runs", () => {
  const plan = {
    test: "01_steady" as const,
    target: "df:50051",
    rate: 8000,
    shardCount: 4,
    durationS: 60,
    warmupS: 30,
    startAt: 1_795_000_000_000,
  };
  assert.match(runId(plan), /^[0-9a-f]{12}$/);
  assert.equal(runId(plan), runId({ ...plan }));
  assert.notEqual(runId(plan), runId({ ...plan, startAt: plan.startAt + 1 }));
  assert.notEqual(runId(plan), runId({ ...plan, rate: 4000 }));
  // Without a shared start instant, every run is its own.
  assert.notEqual(runId({ ...plan, startAt: undefined }), runId({ ...plan, startAt: undefined }));
});
