import assert from "node:assert/strict";
import { join } from "node:path";
import { createCa, issueCert } from "./generate.ts";
import { loadTls } from "./tls.ts";

const DAY = 86_400_000;

Deno.test("loadTls() warns about a certificate that is not valid yet, as about an expired one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tls-test-" });
  try {
    const ca = await createCa({ out: join(dir, "ca") });
    const issue = (name: string, notBefore: Date, notAfter: Date) =>
      issueCert({
        caCrt: ca.crt,
        caKey: ca.key,
        cn: "localhost",
        kind: "server",
        out: join(dir, name),
        notBefore,
        notAfter,
      });
    const future = await issue(
      "future",
      new Date(Date.now() + DAY),
      new Date(Date.now() + 9 * DAY),
    );
    const past = await issue("past", new Date(Date.now() - 9 * DAY), new Date(Date.now() - DAY));
    const warnings = (p: { crt: string; key: string }) =>
      loadTls("mtls", { ca: ca.crt, cert: p.crt, key: p.key }, "server").warnings;
    assert.ok(
      warnings(future).some((w) => /^certificate .*future\.crt is not valid before /.test(w)),
      warnings(future).join("\n"),
    );
    assert.ok(warnings(past).some((w) => /past\.crt expired on /.test(w)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
