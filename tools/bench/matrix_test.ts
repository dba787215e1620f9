import assert from "node:assert/strict";
import { DEFAULT_PACING } from "../../smft/shared/pacer.ts";
import {
  CANDIDATE_RULES,
  candidateValid,
  type Cell,
  type CellResult,
  cellTag,
  confusion,
  formatMatrix,
  matrixCells,
  referenceDisagrees,
  type RunFigures,
  serversFigures,
  truthOf,
} from "./matrix.ts";

const cell: Cell = {
  server: "df",
  delayMs: 0,
  link: "loopback",
  rate: 200,
  connections: 1,
  pacing: "spin",
  starved: false,
};

function figures(p50: number, p99: number, o: Partial<RunFigures> = {}): RunFigures {
  return { p50, p99, lagP50: 0.01, lagP99: 0.1, valid: true, reasons: [], ...o };
}

function result(smft: RunFigures, ref: RunFigures, c: Partial<Cell> = {}): CellResult {
  return { cell: { ...cell, ...c }, smft, ref };
}

Deno.test("matrixCells() covers both servers, DELAY_MS 0 and 5, the relay, both pacings, two connections and a starved smft", () => {
  const cells = matrixCells(false);
  for (
    const want of [
      (c: Cell) => c.server === "df" && c.delayMs === 0 && c.link === "relay",
      (c: Cell) => c.server === "grpc-go" && c.delayMs === 5 && c.link === "loopback",
      (c: Cell) => c.pacing === "spin",
      (c: Cell) => c.pacing === DEFAULT_PACING,
      (c: Cell) => c.connections === 2,
      (c: Cell) => c.starved,
      (c: Cell) => c.rate === 100,
      (c: Cell) => c.rate === 2000,
    ]
  ) assert.ok(cells.some(want), String(want));
  assert.equal(new Set(cells.map(cellTag)).size, cells.length, "every cell once");
  assert.ok(matrixCells(true).length < cells.length / 2);
});

Deno.test("the truth is the independent client: p50 within +0.3 ms and p99 within 1.3x", () => {
  assert.equal(serversFigures(result(figures(0.8, 2.5), figures(0.6, 2))), true);
  assert.equal(serversFigures(result(figures(1.0, 2.5), figures(0.6, 2))), false);
  assert.equal(serversFigures(result(figures(0.6, 2.7), figures(0.6, 2))), false);
});

Deno.test("with the reference run twice, the truth is yes near both sittings, no near neither, undecided between", () => {
  const twice = (smft: RunFigures, a: RunFigures, b: RunFigures): CellResult => ({
    ...result(smft, a),
    ref2: b,
  });
  assert.equal(truthOf(twice(figures(0.6, 2.5), figures(0.6, 2), figures(0.6, 2.1))), "yes");
  assert.equal(truthOf(twice(figures(0.6, 2.5), figures(0.6, 2), figures(0.6, 1.5))), "undecided");
  assert.equal(truthOf(twice(figures(0.6, 3.0), figures(0.6, 2), figures(0.6, 1.5))), "no");
  assert.equal(
    referenceDisagrees(twice(figures(0.6, 2), figures(0.6, 2), figures(0.6, 2.1))),
    false,
  );
  assert.equal(
    referenceDisagrees(twice(figures(0.6, 2), figures(0.6, 2), figures(0.6, 1.5))),
    true,
  );
  assert.equal(referenceDisagrees(result(figures(0.6, 2), figures(0.6, 9))), false, "one sitting");
  const rs = [
    twice(figures(0.6, 2.5), figures(0.6, 2), figures(0.6, 1.5)), // undecided: not counted
    twice(figures(0.6, 9), figures(0.6, 2), figures(0.6, 2)), // VALID, wrong
  ];
  assert.deepEqual(confusion(rs), {
    validRight: 0,
    falseValid: 1,
    invalidRight: 0,
    falseInvalid: 0,
    undecided: 1,
  });
  const text = formatMatrix(rs);
  assert.match(text, /over 1 decided cells/);
  assert.match(
    text,
    /outside \+0\.3 ms \/ 1\.3x of each other in 1 of 2 cells; 1 cells are undecided/,
  );
});

Deno.test("confusion() counts both errors; a false VALID is a VALID run whose figures are not the server's", () => {
  const rs = [
    result(figures(0.6, 2), figures(0.6, 2)), // VALID, right
    result(figures(0.6, 9), figures(0.6, 2)), // VALID, wrong
    result(figures(0.6, 9, { valid: false }), figures(0.6, 2)), // INVALID, right
    result(figures(0.6, 2, { valid: false }), figures(0.6, 2)), // INVALID, needless
  ];
  assert.deepEqual(confusion(rs), {
    validRight: 1,
    falseValid: 1,
    invalidRight: 1,
    falseInvalid: 1,
    undecided: 0,
  });
  const text = formatMatrix(rs);
  assert.match(text, /FALSE VALID/);
  assert.match(text, /errors: 1 false VALID, 1 false INVALID/);
  for (const rule of CANDIDATE_RULES) assert.ok(text.includes(rule.name), rule.name);
});

Deno.test("candidateValid() applies a bound to the own delay; a run that missed its rate is never valid", () => {
  const rule = (start: string) => CANDIDATE_RULES.find((r) => r.name.startsWith(start))!;
  const verdicts = rule("the verdict's"), sendOnly = rule("send side only");
  const gapsOnly = rule("read by turn gaps only"), probeOnly = rule("read by the I/O probe only");
  const own = { sendP50: 0.01, sendP99: 0.1, readP50: 0.01, readP99: 1.5 };
  const r = result(figures(0.6, 4, { own }), figures(0.6, 2));
  assert.equal(candidateValid(verdicts, r), false, "read side 1.6 ms of a 4 ms p99");
  assert.equal(candidateValid(sendOnly, r), true, "blind to the read side");
  const probeSees = result(
    figures(0.6, 4, { own: { ...own, readP99: 0.1, ioP50: 0.05, ioP99: 1.5 } }),
    figures(0.6, 2),
  );
  assert.equal(candidateValid(verdicts, probeSees), false, "the verdict takes the larger");
  assert.equal(candidateValid(gapsOnly, probeSees), true, "turn gaps alone miss it");
  assert.equal(candidateValid(probeOnly, probeSees), false);
  const late = result(
    figures(0.6, 4, { own: { sendP50: 0, sendP99: 0 }, reasons: ["rate: achieved 90/s"] }),
    figures(0.6, 2),
  );
  assert.equal(candidateValid(verdicts, late), false);
});
