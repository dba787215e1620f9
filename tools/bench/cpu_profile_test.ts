import assert from "node:assert/strict";
import { type CpuProfile, origin, splitProfile } from "./cpu_profile.ts";

Deno.test("origin() tells GC, native ops, Deno's polyfills, grpc-js and this project apart", () => {
  const g = (functionName: string, url: string) => origin({ functionName, url })[0];
  assert.equal(g("(garbage collector)", ""), "gc");
  assert.equal(g("(program)", ""), "native");
  assert.equal(g("op_tls_write", ""), "native");
  assert.equal(g("write", "node:http2"), "polyfills");
  assert.equal(g("x", "ext:deno_node/internal/streams/writable.mjs"), "polyfills");
  assert.equal(
    g(
      "sendMessage",
      "file:///r/.cache/deno/npm/registry.npmjs.org/@grpc/grpc-js/1.14.7/build/src/call.js",
    ),
    "grpc-js",
  );
  assert.equal(
    g("x", "file:///r/.cache/deno/npm/registry.npmjs.org/hdr-histogram-js/3.0.1/a.js"),
    "other npm",
  );
  assert.deepEqual(origin({ functionName: "tick", url: "file:///work/main/smft/open_loop.ts" }), [
    "project",
    "smft/open_loop.ts",
  ]);
});

Deno.test("splitProfile() shares busy self time by origin, idle left out", () => {
  const p: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
      { id: 2, callFrame: { functionName: "(garbage collector)", url: "", lineNumber: -1 } },
      {
        id: 3,
        callFrame: { functionName: "tick", url: "file:///w/smft/open_loop.ts", lineNumber: 9 },
      },
      { id: 4, callFrame: { functionName: "write", url: "node:http2", lineNumber: 0 } },
    ],
    samples: [1, 2, 3, 4, 4, 1],
    timeDeltas: [500, 100, 100, 100, 100, 500],
  };
  const s = splitProfile(p);
  assert.equal(s.busyMs, 0.4);
  assert.equal(s.idleMs, 1);
  assert.deepEqual(s.groups, [["polyfills", 50], ["gc", 25], ["project", 25]]);
  assert.deepEqual(s.functions[0], ["write node:http2:1", 50]);
  assert.equal(s.modules.find(([m]) => m === "project: smft/open_loop.ts")?.[1], 25);
});

Deno.test("origin() names a project file from the repository's folders, whatever its parents are called", () => {
  assert.deepEqual(origin({ functionName: "f", url: "file:///home/df/work/smft/steady.ts" }), [
    "project",
    "smft/steady.ts",
  ]);
  assert.deepEqual(origin({ functionName: "f", url: "file:///srv/tools/repo/df/hold.ts" }), [
    "project",
    "df/hold.ts",
  ]);
  assert.deepEqual(
    origin({ functionName: "f", url: "file:///srv/repo/smft/shared/pacer.ts" }),
    ["project", "smft/shared/pacer.ts"],
  );
});
