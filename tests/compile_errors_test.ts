/**
 * The compile task's one-line errors that need no download (nothing here reaches the Deno
 * download site): a DENORT_BIN that cannot run, a misspelt flag, and the offline message.
 */
import assert from "node:assert/strict";
import { run } from "./helpers.ts";
import { denortUrl, missingRuntimeLine } from "../tools/compile.ts";

const COMPILE = ["run", "--allow-run", "--allow-read", "--allow-env", "tools/compile.ts"];

function assertOneLine(stderr: string, expected: RegExp): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], expected);
  assert.doesNotMatch(stderr, /Uncaught|\n\s+at /, "no stack trace");
}

Deno.test("compile with a DENORT_BIN that does not exist says it cannot run it, in one line", async () => {
  const r = await run([...COMPILE, "--only", "df"], { DENORT_BIN: "/nonexistent" });
  assert.equal(r.code, 1, r.stderr);
  assertOneLine(r.stderr, /^compile: DENORT_BIN=\/nonexistent: cannot run it \(NotFound\)$/);
});

Deno.test("compile answers a misspelt flag with the nearest one", async () => {
  const r = await run([...COMPILE, "--onyl", "df"]);
  assert.equal(r.code, 1, r.stderr);
  assertOneLine(r.stderr, /^compile: Unknown option '--onyl' \(did you mean --only\?\)$/);
});

Deno.test("the offline message names where the runtime archive is downloaded from", () => {
  const target = "x86_64-unknown-linux-gnu";
  const url = denortUrl(target);
  assert.equal(
    url,
    `https://dl.deno.land/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip`,
  );
  assert.ok(missingRuntimeLine(target).includes(url));
  assert.ok(missingRuntimeLine(target).includes("DENORT_BIN=/path/to/denort"));
});
