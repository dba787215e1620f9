import assert from "node:assert/strict";
import { addressOf, CauseLog } from "./log.ts";

Deno.test("CauseLog writes the first event of a cause at once and the repeats as one counted line per interval", () => {
  const lines: string[] = [];
  const log = new CauseLog({ intervalMs: 10_000, emit: (l) => lines.push(l), now: 0 });
  const cause = "handshake timed out (not finished within 10 s)";
  for (let i = 0; i < 500; i++) {
    log.record({ kind: "refused", peer: `127.0.0.1:${1000 + i}`, cause }, i);
  }
  log.record({ kind: "refused", peer: "10.0.0.2:5", cause: "no client certificate" }, 600);
  log.record({ kind: "refused", peer: "[::1]:7", cause }, 700);
  assert.deepEqual(lines, [
    `df: refused 127.0.0.1:1000: ${cause}`,
    "df: refused 10.0.0.2:5: no client certificate",
  ]);
  log.tick(9_999);
  assert.equal(lines.length, 2, "nothing until the interval ends");
  log.tick(10_000);
  assert.deepEqual(lines.slice(2), [
    `df: refused 500 more in the last 10 s: ${cause} (from 127.0.0.1 ×499, [::1] ×1)`,
  ]);
  // A new interval: the next event of the cause is written at once again.
  log.record({ kind: "refused", peer: "127.0.0.1:9", cause }, 10_001);
  assert.equal(lines.at(-1), `df: refused 127.0.0.1:9: ${cause}`);
});

Deno.test("CauseLog keeps totals by kind and cause, most frequent first", () => {
  const log = new CauseLog({ intervalMs: 1000, emit: () => {}, now: 0 });
  for (let i = 0; i < 3; i++) log.record({ kind: "closed", peer: "a:1", cause: "idle" }, i);
  log.record({ kind: "refused", peer: "a:1", cause: "no client certificate" }, 5000);
  assert.deepEqual(log.totals(), [
    { kind: "closed", cause: "idle", count: 3 },
    { kind: "refused", cause: "no client certificate", count: 1 },
  ]);
});

Deno.test("CauseLog names at most three addresses in a collapsed line", () => {
  const lines: string[] = [];
  const log = new CauseLog({ intervalMs: 1000, emit: (l) => lines.push(l), now: 0 });
  for (let i = 0; i < 6; i++) log.record({ kind: "refused", peer: `10.0.0.${i}:1`, cause: "x" }, 1);
  log.flush(1000);
  assert.match(lines.at(-1)!, /5 more in the last 1 s: x \(from .* and 2 more addresses\)$/);
});

Deno.test("addressOf() drops the port, IPv6 too", () => {
  assert.equal(addressOf("127.0.0.1:5000"), "127.0.0.1");
  assert.equal(addressOf("[::1]:5000"), "[::1]");
});
