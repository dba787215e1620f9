import assert from "node:assert/strict";
import { textTable } from "./text_table.ts";

Deno.test("textTable: figures right, text left (negative columns from the end), no trailing spaces", () => {
  const rows = [["rate/s", "p99 ms", "file"], ["100", "5.10", "a.txt"], ["2000", "12.25", ""]];
  assert.equal(
    textTable(rows, { left: [-1] }),
    "rate/s  p99 ms  file\n   100    5.10  a.txt\n  2000   12.25",
  );
  assert.equal(textTable([["a", "bb"], ["ccc", "d"]], { indent: "  " }), "    a  bb\n  ccc   d");
  assert.equal(textTable([]), "");
  assert.equal(
    textTable([["a", "1"], ["bbb", "22"]], { left: [0], minWidth: [5] }),
    "a       1\nbbb    22",
  );
});
