import assert from "node:assert/strict";
import { printable } from "./printable.ts";

Deno.test("printable() escapes control characters but keeps newlines, tabs and text", () => {
  assert.equal(printable("a\x1b[2Jb\0c\r"), "a\\x1b[2Jb\\x00c\\x0d");
  assert.equal(printable("line 1\n\tline 2 µs é"), "line 1\n\tline 2 µs é");
  assert.equal(printable("\x7f\x9b\u202eabc"), "\\x7f\\x9b\\u202eabc");
});
