import assert from "node:assert/strict";
import { ConfigError, resolveOptions, withNearestFlag } from "./layered_config.ts";

const DEFS = {
  rps: { flag: "rps", default: 1, parse: Number, help: "rate" },
  duration: { flag: "duration", default: 1, parse: Number, help: "s" },
  warmupAttempts: { flag: "warmup-attempts", default: 1, parse: Number, help: "n" },
};

Deno.test("an unknown flag is answered with the nearest known one, as a .env typo is", () => {
  const error = (args: string[]) => {
    try {
      resolveOptions(DEFS, { args, env: {} });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    assert.fail("no error");
  };
  assert.equal(error(["--rsp", "5"]), "Unknown option '--rsp' (did you mean --rps?)");
  assert.equal(error(["--duraton=3"]), "Unknown option '--duraton' (did you mean --duration?)");
  // A flag it begins is near too; nothing near says nothing more.
  assert.equal(
    error(["--warmup", "3"]),
    "Unknown option '--warmup' (did you mean --warmup-attempts?)",
  );
  assert.equal(error(["--frobnicate"]), "Unknown option '--frobnicate'");
  assert.equal(withNearestFlag("something else", ["rps"]), "something else");
});
