import assert from "node:assert/strict";
import { EXIT, exitCode } from "./exit_codes.ts";

Deno.test("exitCode() tells an SLO failure, an INVALID run and both apart; interrupted wins", () => {
  const c = (interrupted: boolean, invalid: boolean, sloFailed: boolean) =>
    exitCode({ interrupted, invalid, sloFailed });
  assert.equal(c(false, false, false), EXIT.ok);
  assert.equal(c(false, false, true), 2);
  assert.equal(c(false, true, false), 3);
  assert.equal(c(false, true, true), 5);
  assert.equal(c(true, true, true), 130);
  assert.equal(EXIT.writeError, 4);
});

Deno.test("exitCode(): a run none of whose calls got through is 1 (df unreachable), after 130", () => {
  const base = { interrupted: false, invalid: true, sloFailed: true };
  assert.equal(exitCode({ ...base, noneThrough: true }), EXIT.config);
  assert.equal(exitCode({ ...base, noneThrough: true, interrupted: true }), EXIT.interrupted);
  assert.equal(exitCode({ ...base, noneThrough: false }), EXIT.invalidAndSlo);
});
