import assert from "node:assert/strict";
import { Accumulator, reasonKey } from "./summary.ts";
import { formatSummary } from "./summary_text.ts";

Deno.test("reasonKey() groups by code and message with its numbers taken out, addresses kept", () => {
  const deadline = (t: string, pick: string) => ({
    ok: false,
    code: "DEADLINE_EXCEEDED",
    error: `Deadline exceeded after ${t}s,LB pick: ${pick}s,remote_addr=127.0.0.1:50051`,
  });
  assert.equal(
    reasonKey(deadline("1.001", "0.000")),
    "DEADLINE_EXCEEDED: Deadline exceeded after Ns,remote_addr=127.0.0.1:50051",
  );
  // Which stages grpc-js timed varies from call to call: still one reason.
  assert.equal(
    reasonKey(deadline("1.001", "0.000")),
    reasonKey({
      ok: false,
      code: "DEADLINE_EXCEEDED",
      error: "Deadline exceeded after 1.2s,name resolution: 0.001s,remote_addr=127.0.0.1:50051",
    }),
  );
  assert.equal(reasonKey(deadline("1.001", "0.000")), reasonKey(deadline("1.137", "0.002")));
  // An attempt's phase stays in its group; the address and names with digits stay as they are.
  assert.equal(
    reasonKey({ ok: false, code: "UNAVAILABLE", phase: "tcp", error: "refused by [::1]:5005" }),
    "UNAVAILABLE (tcp): refused by [::1]:5005",
  );
  assert.equal(
    reasonKey({ ok: false, code: "UNAVAILABLE", error: "TLSv1.3 x509 at df.example:443 in 12 ms" }),
    "UNAVAILABLE: TLSv1.3 x509 at df.example:443 in N ms",
  );
});

Deno.test("670 deadline failures with their own timings are one reason, not hundreds", () => {
  const acc = new Accumulator("01_steady", { keepSeries: false });
  for (let i = 0; i < 670; i++) {
    acc.add({
      ok: false,
      code: "DEADLINE_EXCEEDED",
      latency_ms: 1000 + i,
      error: `Deadline exceeded after ${(1 + i / 1000).toFixed(3)}s,LB pick: 0.00${i % 10}s`,
    });
  }
  const s = acc.summary();
  assert.deepEqual(s.topReasons, [{
    reason: "DEADLINE_EXCEEDED: Deadline exceeded after Ns",
    count: 670,
  }]);
  acc.destroy();
});

Deno.test("coldconn's phase table: headers over their columns, first_rpc labelled as the call's own time", () => {
  const acc = new Accumulator("02_coldconn", { keepSeries: false });
  acc.add({ ok: true, t_tcp_ms: 1.5, t_connect_ms: 19.4, t_first_rpc_ms: 6.1, t_total_ms: 25.5 });
  const text = formatSummary(acc.summary());
  acc.destroy();
  const lines = text.split("\n");
  const head = lines.find((l) => l.startsWith("phase (ms from attempt start)"))!;
  const rows = lines.filter((l) => /^ {2}\S/.test(l));
  assert.ok(rows.length >= 4, text);
  for (const row of rows) {
    // Every header ends where its column's figures end.
    const ends = (s: string) => [...s.matchAll(/\S+/g)].map((m) => m.index! + m[0].length);
    assert.deepEqual(ends(head).slice(-5), ends(row).slice(-5), `${head}\n${row}`);
  }
  assert.match(text, /^ {2}first_rpc \(READY to status\) +6\.10/m);
  assert.doesNotMatch(text, /^ {2}first_rpc +\d/m);
});
