import assert from "node:assert/strict";
import { achievedRate, formatRunVerdict, invalidCause, judgeRun } from "./verdict.ts";

Deno.test("achievedRate() gives exactly the target to a generator that kept its plan", () => {
  // 1000 requests at 500/s, the last issued at 1998 ms after the start: the window is 2 s.
  const r = achievedRate(1000, 10_000, 10_000 + 1998, 500);
  assert.equal(r.windowS, 2);
  assert.equal(r.rate, 500);
  assert.deepEqual(achievedRate(0, 0, 0, 500), { rate: 0, windowS: 0 });
});

Deno.test("achievedRate() shows a generator that finished late", () => {
  // The same 1000 requests, the last one issued 500 ms late.
  const r = achievedRate(1000, 0, 2498, 500);
  assert.ok(r.rate < 401 && r.rate > 399, String(r.rate));
});

Deno.test("judgeRun() is VALID within 1 % and under 1 ms of lag p99, INVALID with reasons otherwise", () => {
  assert.equal(judgeRun(1000, 995, 0.99).valid, true);
  const slow = judgeRun(1000, 980, 0.2);
  assert.equal(slow.valid, false);
  assert.match(
    slow.reasons[0],
    /achieved 980\.0\/s vs target 1000\.0\/s \(2\.0 % off, limit 1 %\)/,
  );
  const laggy = judgeRun(1000, 1000, 1);
  assert.equal(laggy.valid, false);
  assert.match(formatRunVerdict(laggy), /^INVALID: the generator fell behind \(lag p99 1\.00 ms/);
  assert.match(formatRunVerdict(judgeRun(500, 500, 0.1)), /^VALID: /);
});

Deno.test("judgeRun() judges lag only on 100 calls or more, and says how many calls it rests on", () => {
  const short = judgeRun(20, 20, 35, { calls: 20 });
  assert.equal(short.valid, true, "one slow first call does not make a 20-call run INVALID");
  assert.equal(short.lagJudged, false);
  assert.match(
    formatRunVerdict(short),
    /^VALID: .*too few calls to judge lag \(20 < 100; slowest lag 35\.000 ms, not judged\); on 20 measured calls\)$/,
  );
  const enough = judgeRun(100, 100, 1.5, { calls: 100 });
  assert.equal(enough.valid, false);
  assert.match(formatRunVerdict(enough), /lag p99 1\.50 ms \(limit 1 ms\); on 100 measured calls/);
  // The rate is still judged on a short run.
  assert.equal(judgeRun(20, 15, 0.1, { calls: 15 }).valid, false);
});

Deno.test("formatRunVerdict() says interrupted, not 'fell behind', for a stopped run", () => {
  const none = judgeRun(50, 0, 0, { calls: 0, interrupted: true });
  assert.equal(
    formatRunVerdict(none),
    "INTERRUPTED before the first measured call: nothing to judge",
  );
  const some = formatRunVerdict(judgeRun(50, 50, 0.2, { calls: 40, interrupted: true }));
  assert.match(some, /^INTERRUPTED: stopped by a signal; on 40 measured calls/);
  assert.doesNotMatch(some, /fell behind/);
});

Deno.test("judgeRun() is INVALID when the generator's share of p99 is too large, whatever the lag", () => {
  // Lag p99 0.4 ms, but p99 8.57 ms against the server's own 6.09 ms: 1.41x (a run of the
  // bench's matrix whose p99 was 1.43x the grpc-go client's).
  const v = judgeRun(1000, 1000, 0.4, { calls: 6000, share: { p99: 8.57, serverP99: 6.09 } });
  assert.equal(v.valid, false);
  assert.match(v.reasons[0], /p99 8\.57 ms is 1\.41x the server's own 6\.09 ms \(limit 1\.3x\)/);
  assert.match(formatRunVerdict(v), /^INVALID: too much of the p99 is not the server's own \(/);
  // 1.28x: the server's figures.
  const ok = judgeRun(500, 500, 0.21, { calls: 3000, share: { p99: 7.3, serverP99: 5.73 } });
  assert.equal(ok.valid, true);
  assert.match(formatRunVerdict(ok), /lag p99 0\.210 ms, p99 1\.27x the server's own/);
  // Lag and share together: "fell behind", with both reasons.
  const both = judgeRun(1000, 1000, 2, { calls: 6000, share: { p99: 20, serverP99: 6 } });
  assert.equal(both.reasons.length, 2);
  assert.match(formatRunVerdict(both), /^INVALID: the generator fell behind/);
  // The tools word a file's verdict from its #END reasons the same way.
  assert.equal(invalidCause(v.reasons), "too much of the p99 is not the server's own");
  assert.equal(invalidCause(both.reasons), "the generator fell behind");
});

Deno.test("judgeRun() judges the share only with a server time and enough calls", () => {
  assert.equal(judgeRun(1000, 1000, 0.2, { calls: 6000 }).share, undefined);
  const few = judgeRun(20, 20, 0.2, { calls: 20, share: { p99: 30, serverP99: 5 } });
  assert.equal(few.valid, true);
  assert.equal(few.share, undefined);
  const noServer = judgeRun(1000, 1000, 0.2, { calls: 6000, share: { p99: 30, serverP99: 0 } });
  assert.equal(noServer.valid, true);
});
