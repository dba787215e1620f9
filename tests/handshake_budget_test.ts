/**
 * Issue 30, item 5: connections that never finish their TLS handshake (no certificate checked
 * yet) have their own, smaller budget per address and in all, so that a slowloris from several
 * addresses cannot take the places new legitimate clients need. Real df, real attackers from
 * other loopback addresses (127.0.0.2-6), a real smft coldconn.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { join } from "node:path";
import { readResultsFile, startDfProcess, startSmft, tempResults, waitAtMost } from "./helpers.ts";

/** `n` connections from `address`, each sending one byte of a ClientHello every 2 s. */
async function slowHellos(port: number, address: string, n: number): Promise<net.Socket[]> {
  const hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
  return await Promise.all(Array.from({ length: n }, () =>
    new Promise<net.Socket>((resolve) => {
      const s = net.connect({ port, host: "127.0.0.1", localAddress: address });
      let i = 0;
      const drip = () => {
        if (!s.destroyed && i < hello.length) s.write(new Uint8Array([hello[i++]]));
      };
      const timer = setInterval(drip, 2000);
      s.once("connect", () => {
        drip();
        resolve(s);
      });
      s.on("error", () => {});
      s.once("close", () => {
        clearInterval(timer);
        resolve(s);
      });
    })));
}

Deno.test("a slowloris from 5 addresses cannot shut out new legitimate connections", async () => {
  // Small limits so that the attack fills them quickly: 5 x 80 slow handshakes vs 300 places.
  const df = await startDfProcess({
    DELAY_MS: "1",
    DF_MAX_CONNS: "300",
    DF_MAX_HANDSHAKES_PER_ADDRESS: "16",
    DF_MAX_HANDSHAKES: "60",
    DF_HANDSHAKE_TIMEOUT_MS: "60000",
    DF_LOG_INTERVAL_MS: "1000",
  });
  const dir = await tempResults();
  const attackers: net.Socket[] = [];
  try {
    for (let a = 2; a <= 6; a++) attackers.push(...await slowHellos(df.port, `127.0.0.${a}`, 80));
    const out = join(dir, "cold.txt");
    const smft = await startSmft(
      ["coldconn", "--rps", "10", "--attempts", "30", "--out", out, "--quiet"],
      { DF_PORT: String(df.port) },
    );
    await waitAtMost(smft, 60_000);
    const r = await readResultsFile(out);
    const ok = r.lines.filter((l) => l.ok === true).length;
    assert.ok(ok >= 0.99 * r.lines.length && r.lines.length === 30, `legit ok ${ok} of 30`);
    const open = attackers.filter((s) => !s.destroyed).length;
    assert.ok(open <= 60, `${open} unfinished handshakes still held (budget 60)`);
  } finally {
    for (const s of attackers) s.destroy();
    await df.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  assert.match(df.stderr, /limit reached: 16 unfinished handshakes from this address/);
  assert.match(df.stdout, /limit reached: 16 unfinished handshakes from this address: \d+/);
});
