import assert from "node:assert/strict";
import * as net from "node:net";
import type { Buffer } from "node:buffer";
import { startRelay } from "./relay.ts";

Deno.test("the relay holds each chunk its delay in each direction", async () => {
  const echo = net.createServer((s) => s.on("data", (b: Buffer) => s.write(b)));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  const relay = await startRelay({
    to: { host: "127.0.0.1", port: (echo.address() as net.AddressInfo).port },
    delayMs: 5,
  });
  const client = net.connect({ host: "127.0.0.1", port: relay.port });
  client.on("error", () => {/* closed by the relay */});
  await new Promise<void>((r) => client.once("connect", r));
  const start = performance.now();
  client.write("ping");
  const back = await new Promise<string>((r) => client.once("data", (b: Buffer) => r(String(b))));
  assert.equal(back, "ping");
  assert.ok(performance.now() - start >= 10, "held 5 ms each way");
  assert.equal(relay.connections, 1);
  client.destroy();
  await relay.close();
  await new Promise<void>((r) => echo.close(() => r()));
});
