import { deepStrictEqual, equal } from "node:assert/strict";
import { type Block, blocksOfSeconds, blocksOfValues, bootstrapDiff } from "./bootstrap.ts";
import { readResults } from "../results.ts";
import { withFiles } from "../test_files.ts";
import { A } from "./_test_runs.ts";

Deno.test("bootstrapDiff() point figures are the summary's percentiles, to the microsecond", async () => {
  await withFiles({ "a.txt": A }, async (p) => {
    const f = await readResults(p("a.txt"));
    const blocks = blocksOfSeconds(f.acc);
    equal(blocks.length, 60);
    const s = f.acc.summary().latency!;
    const d = bootstrapDiff(blocks, blocks, [50, 90, 99], { resamples: 100 });
    deepStrictEqual(d.map((x) => x.a), [s.p50, s.p90, s.p99]);
    deepStrictEqual(d.map((x) => x.diff), [0, 0, 0]);
    f.acc.destroy();
  });
});

Deno.test("blocksOfValues() puts values in the histogram's buckets and keeps the exact maximum", () => {
  const [b] = blocksOfValues([1.5, 2.048, 2.05, 5.0], 4);
  deepStrictEqual(b, {
    // Exact below 2.048 ms, then 2 µs buckets ([2.048, 2.049], [2.050, 2.051]), 4 µs from 4.096.
    buckets: [{ topUs: 1500, count: 1 }, { topUs: 2049, count: 1 }, { topUs: 2051, count: 1 }, {
      topUs: 5003,
      count: 1,
    }],
    count: 4,
    maxUs: 5000,
  });
  deepStrictEqual(blocksOfValues([1, 2, 3, 4, 5], 2).map((x: Block) => x.count), [2, 2, 1]);
});
