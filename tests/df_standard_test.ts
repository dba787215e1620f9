/**
 * df's standard services (issue 27): grpc.health.v1.Health and server reflection, over the same
 * TLS 1.3 + mTLS as GetScore, against a real df process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { listServices } from "../smft/reflection.ts";
import { readResultsFile, scoreClient, startDfProcess, startSmft, tempResults } from "./helpers.ts";

type Status = { status: string };

/** Health/Check of `service` over `client`'s channel. */
function check(client: grpc.Client, service: string): Promise<string> {
  const m = healthService.Check;
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      { service },
      (e: grpc.ServiceError | null, r?: unknown) =>
        e ? reject(e) : resolve(String((r as Status).status)),
    )
  );
}

Deno.test("df answers Health/Check SERVING and lists its services through reflection", async () => {
  const df = await startDfProcess();
  const client = await scoreClient(df.port);
  try {
    assert.equal(await check(client.raw, ""), "SERVING");
    assert.equal(await check(client.raw, "score.ScoreService"), "SERVING");
    await assert.rejects(
      check(client.raw, "no.Such"),
      (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND,
    );
    const services = await listServices(client.raw, 5000);
    for (const s of ["score.ScoreService", "grpc.health.v1.Health"]) {
      assert.ok(services.includes(s), `${s} in ${services}`);
    }
  } finally {
    client.close();
    await df.stop();
  }
});

Deno.test("smft --reflect calls df's GetScore with the schema df describes", async () => {
  const df = await startDfProcess({ DELAY_MS: "1" });
  const dir = await tempResults();
  const out = join(dir, "reflect.txt");
  try {
    const smft = await startSmft([
      "steady",
      ...["--rps", "100", "--duration", "0.5", "--warmup", "0", "--out", out, "--quiet"],
      ...["--reflect", "--call", "score.ScoreService/GetScore", "--data", '{"json":"[1,2]"}'],
    ], { DF_PORT: String(df.port) });
    const status = await smft.wait();
    assert.ok([0, 3].includes(status.code), smft.stderr);
  } finally {
    await df.stop();
  }
  const r = await readResultsFile(out);
  assert.equal(r.meta.schema, "reflection:v1");
  assert.ok(r.lines.length >= 49 && r.lines.every((l) => l.ok === true), JSON.stringify(r.end));
});

Deno.test("df's health flips to NOT_SERVING when it starts to drain on SIGTERM", async () => {
  // A call held for 3 s keeps df draining while the health service is asked.
  const df = await startDfProcess({ DELAY_MS: "3000", DF_GRACE_MS: "10000" });
  const client = await scoreClient(df.port);
  try {
    const held = client.call("[1]", 10_000);
    const m = healthService.Watch;
    const watch = client.raw.makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      { service: "" },
    );
    const seen: string[] = [];
    const notServing = new Promise<void>((resolve) => {
      watch.on("data", (r: Status) => {
        seen.push(r.status);
        if (r.status === "NOT_SERVING") resolve();
      });
    });
    watch.on("error", () => {});
    assert.equal(await check(client.raw, ""), "SERVING");
    df.child.kill("SIGTERM");
    await notServing;
    assert.deepEqual(seen, ["SERVING", "NOT_SERVING"]);
    // Still draining (the held call is not answered yet): Check says so too.
    assert.equal(await check(client.raw, "score.ScoreService"), "NOT_SERVING");
    watch.cancel();
    assert.equal((await held).ok, true, "the held call is answered while df drains");
  } finally {
    client.close();
    await df.stop();
  }
});
