import assert from "node:assert/strict";
import { formatRunVerdict, judgeOutcome, judgeRun, noneThroughVerdict } from "./verdict.ts";

Deno.test("judgeOutcome(): a run whose every result is an error is never VALID, on schedule or not", () => {
  const onTime = judgeRun({ targetRate: 5, achievedRate: 5, calls: 5 });
  assert.equal(onTime.valid, true);
  const none = judgeOutcome(onTime, 0, 5);
  assert.equal(none.valid, false);
  assert.deepEqual(none.reasons, ["no call got through: all 5 failed"]);
  assert.match(noneThroughVerdict(none.reasons)!, /^INVALID: no call got through: all 5 failed;/);
  assert.equal(formatRunVerdict(none), noneThroughVerdict(none.reasons));
  // One call through is enough for the pace rules alone to judge.
  assert.equal(judgeOutcome(onTime, 1, 4), onTime);
  assert.equal(noneThroughVerdict(onTime.reasons), undefined);
});
