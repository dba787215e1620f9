/**
 * Issue 30: every file a program reads is bounded. A device or FIFO (`/dev/zero`) is refused, and
 * a file over its limit (certificates and keys 1 MiB, the payload gRPC's 4 MiB message limit) is
 * refused in one line that names its size. Real processes, real files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DF_PERMISSIONS, dfEnv, run, SMFT_PERMISSIONS, smftEnv } from "./helpers.ts";

/** Runs Deno with `args`, killed after 20 s (a read that never ends fails, never hangs). */
const runBounded = (args: string[], env: Record<string, string>) =>
  run(args, env, { timeoutMs: 20_000 });

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${stderr.slice(0, 2000)}`);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
  return lines[0];
}

Deno.test("devices and oversized files are refused in one line naming the size: certificates, keys, payload, results", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bounded-read-" });
  try {
    const bigPem = join(dir, "big.pem");
    await Deno.writeTextFile(bigPem, "-----BEGIN CERTIFICATE-----\n" + "A".repeat(2 * 1024 * 1024));
    const bigPayload = join(dir, "big.json");
    await Deno.writeTextFile(bigPayload, `[${"0.5,".repeat(1_300_000)}0.5]`);
    const smft = ["run", ...SMFT_PERMISSIONS, "tools/main.ts", "steady", "--duration", "1"];
    const df = ["run", ...DF_PERMISSIONS, "df/main.ts"];
    const cases: [string, string[], Record<string, string>, RegExp][] = [
      [
        "smft --ca /dev/zero",
        smft,
        await smftEnv({ TLS_CA: "/dev/zero" }),
        /^smft: TLS_CA \/dev\/zero: CA certificate is not a regular file/,
      ],
      [
        "smft a 2 MiB certificate",
        smft,
        await smftEnv({ TLS_CERT: bigPem }),
        /TLS_CERT .*big\.pem: certificate is 2,097,1\d\d bytes \(2\.0 MiB\), over the limit of 1,048,576 bytes/,
      ],
      [
        "smft --payload-file /dev/zero",
        [...smft, "--payload-file", "/dev/zero"],
        await smftEnv(),
        /^smft: PAYLOAD_FILE \/dev\/zero: is not a regular file/,
      ],
      [
        "smft a 5 MiB payload",
        [...smft, "--payload-file", bigPayload],
        await smftEnv(),
        /PAYLOAD_FILE .*big\.json: is 5,200,00\d bytes \(5\.0 MiB\), over the limit of 4,194,240 bytes/,
      ],
      [
        "df --cert /dev/zero",
        df,
        await dfEnv({ TLS_CERT: "/dev/zero" }),
        /^df: TLS_CERT \/dev\/zero: certificate is not a regular file/,
      ],
      [
        "summarize /dev/zero",
        ["run", "--allow-read", "tools/main.ts", "summarize", "/dev/zero"],
        {},
        /^summarize: \/dev\/zero: not a regular file/,
      ],
    ];
    for (const [name, args, env, want] of cases) {
      await t.step(name, async () => {
        const r = await runBounded(args, env);
        assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr.slice(0, 2000)}`);
        assert.match(oneLine(r.stderr), want);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
