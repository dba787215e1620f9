/**
 * Issue 30, item 11: df says what it closes and counts a call OK only when its answer was
 * written. A real df; the abusive HTTP/2 client (tests/abusive_client.ts) as a process.
 */
import assert from "node:assert/strict";
import { Proc, startDfProcess, testCerts, waitAtMost } from "./helpers.ts";

async function abuse(port: number, args: string[]): Promise<string> {
  const c = await testCerts();
  const p = new Proc([
    "run",
    "-A",
    "tests/abusive_client.ts",
    ...["--port", String(port), "--ca", c.caCrt, "--cert", c.clientCrt, "--key", c.clientKey],
    ...args,
  ], {});
  await waitAtMost(p, 30_000);
  return p.stdout;
}

Deno.test("a flood df's HTTP/2 layer ends is logged as closed with its cause and counted", async () => {
  const df = await startDfProcess({ DF_MAX_STREAMS: "16", DF_LOG_INTERVAL_MS: "0" });
  let seen: string;
  try {
    // A PING flood from a client that reads nothing: nghttp2 stops it once its answers pile up.
    seen = await abuse(df.port, [
      ...["--mode", "unread", "--streams", "1", "--seconds", "5", "--pings", "1000000"],
    ]);
  } finally {
    await df.stop();
  }
  assert.match(seen, /"closedByServer":true/, seen);
  console.log(`  ${/^df: closed .*$/m.exec(df.stderr)?.[0]}`);
  assert.match(df.stderr, /^df: closed 127\.0\.0\.1:\d+: HTTP\/2 error, the session was ended: /m);
  assert.match(df.stdout, /closed=1 \(HTTP\/2 error, the session was ended: .*: 1\)/);
});

Deno.test("calls whose answers cannot be written (a window never opened) are not counted OK", async () => {
  const df = await startDfProcess({ DELAY_MS: "5" });
  try {
    await abuse(df.port, [
      ...["--mode", "read", "--streams", "200", "--seconds", "2", "--zero-window"],
    ]);
  } finally {
    await df.stop();
  }
  const totals = /^df stopped: .*$/m.exec(df.stdout)?.[0] ?? df.stdout;
  assert.doesNotMatch(totals, /OK=/, totals);
  assert.match(totals, /unwritten=200\b/, totals);
});
