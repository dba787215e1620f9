import assert from "node:assert/strict";
import { fairUpTo } from "./fair_rate.ts";

const read = [
  "own delay at p99 2.19 ms (send 0.5 + read 1.69) is over 20 % of the p99 8.23 ms (limit 1.65 ms): mostly the read side",
];

Deno.test("fairUpTo() names the highest rate below the first INVALID one, and why that one is not", () => {
  assert.match(
    fairUpTo([
      { rate: 500, valid: false, reasons: read },
      { rate: 100, valid: true, reasons: [] },
      { rate: 200, valid: true, reasons: [] },
    ]),
    /^VALID up to 200\/s on this machine; at 500\/s the generator's own delay can move the figures \(read side\)/,
  );
  assert.match(
    fairUpTo([{ rate: 100, valid: true, reasons: [] }]),
    /^VALID up to 100\/s on this machine: every rate's figures/,
  );
});

Deno.test("fairUpTo() never says VALID up to a rate above an INVALID one: it names the VALID rung above apart", () => {
  const text = fairUpTo([
    { rate: 100, valid: false, reasons: read },
    { rate: 200, valid: true, reasons: [] },
    { rate: 500, valid: false, reasons: read },
  ]);
  assert.match(text, /^no rate VALID from the lowest up; at 100\/s /);
  assert.match(text, /VALID again at 200\/s: the verdict is at its bound on this host/);
  assert.doesNotMatch(text, /VALID up to 200/);
});
