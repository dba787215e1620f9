/**
 * Compiled binaries. `deno compile` needs the Deno runtime (denort) for the target, from the
 * Deno download site or offline (DENORT_BIN, a pre-seeded DENO_DIR). Where it can be had, the
 * binaries are built and run end to end; where not, the task must say so in one line, and the
 * end-to-end test is reported as skipped with that reason.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { BINARIES, compileArgs } from "../tools/compile.ts";
import { V8_FLAGS } from "../tools/programs.ts";
import { assertRanToEnd, readResultsFile, run, testCerts } from "./helpers.ts";

Deno.test("compile writes the permissions each program needs into it, and embeds the proto and the connection worker", () => {
  for (const b of BINARIES) {
    const args = compileArgs(b, "dist");
    assert.ok(!args.includes("-A") && !args.includes("--allow-all"), b.name);
    assert.ok(args.includes("--allow-net"), b.name);
    assert.ok(args.includes(V8_FLAGS), `${b.name} keeps its V8 flags when compiled`);
    assert.ok(!args.includes("--allow-run"), `${b.name} never runs other programs`);
    assert.deepEqual(args.slice(args.indexOf("--include"), args.indexOf("--include") + 2), [
      "--include",
      "proto/score.proto",
    ]);
    assert.ok(!args.some((a) => a.startsWith("--env-file")), "no .env is baked in");
  }
  const smft = compileArgs(BINARIES[1], "dist");
  assert.equal(smft[smft.indexOf("smft/connection_worker.ts") - 1], "--include");
  assert.deepEqual(
    compileArgs(BINARIES[0], "dist", "aarch64-apple-darwin").slice(-5),
    ["--target", "aarch64-apple-darwin", "--output", "dist/df", "df/main.ts"],
  );
});

/** Builds the binaries; returns why not when the runtime cannot be had. */
async function build(out: string): Promise<{ ok: boolean; stderr: string }> {
  const r = await run([
    "run",
    "--allow-run",
    "--allow-read",
    "--allow-env",
    "tools/compile.ts",
    "--out",
    out,
  ]);
  return { ok: r.code === 0, stderr: r.stderr };
}

// Built once, at load: by download, DENORT_BIN or a pre-seeded DENO_DIR, whichever works here.
const out = await Deno.makeTempDir({ prefix: "smft-dist-" });
const built = await build(out);

Deno.test({
  name: built.ok
    ? "compiled df and smft run a steady test end to end from their own working folders"
    : `compiled df and smft run end to end (SKIPPED, compile cannot run here: ${built.stderr.trim()})`,
  ignore: !built.ok,
  async fn() {
    const certs = await testCerts();
    const host = await Deno.makeTempDir({ prefix: "smft-host-" });
    // Certificates relative to the working folder, settings from its .env at run time.
    await Deno.mkdir(join(host, "certs"));
    for (
      const [from, to] of [
        [certs.caCrt, "ca.crt"],
        [certs.serverCrt, "server.crt"],
        [certs.serverKey, "server.key"],
        [certs.clientCrt, "client.crt"],
        [certs.clientKey, "client.key"],
      ]
    ) {
      await Deno.copyFile(from, join(host, "certs", to));
    }
    await Deno.writeTextFile(join(host, ".env"), "DF_HOST=127.0.0.1\nDF_PORT=0\nDELAY_MS=2\n");
    const version = await new Deno.Command(join(out, "smft"), { args: ["--version"] }).output();
    assert.match(new TextDecoder().decode(version.stdout), /^smft \d+\.\d+\.\d+/);
    const dfBin = new Deno.Command(join(out, "df"), { cwd: host, stdout: "piped", stderr: "piped" })
      .spawn();
    const reader = dfBin.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let head = "";
    while (!/listening on \S+:(\d+)/.test(head)) head += (await reader.read()).value ?? "";
    const port = /listening on \S+:(\d+)/.exec(head)![1];
    try {
      const smft = await new Deno.Command(join(out, "smft"), {
        args: [
          "steady",
          "--rps",
          "50",
          "--duration",
          "1",
          "--warmup",
          "0",
          // Worker threads, whose module must be in the binary too.
          "--connections",
          "2",
          "--quiet",
          "--out",
          "r.txt",
        ],
        cwd: host,
        env: { DF_HOST: "localhost", DF_PORT: port },
      }).output();
      assertRanToEnd(
        smft.code,
        new TextDecoder().decode(smft.stdout),
        new TextDecoder().decode(smft.stderr),
      );
      const r = await readResultsFile(join(host, "r.txt"));
      assert.equal(r.lines.length, 50);
    } finally {
      dfBin.kill("SIGTERM");
      await dfBin.status;
    }
  },
});

Deno.test({
  name: "compile says in one line what is missing when the runtime cannot be had",
  ignore: built.ok,
  fn() {
    const lines = built.stderr.trim().split("\n");
    assert.equal(lines.length, 1, built.stderr);
    assert.match(
      lines[0],
      /^compile: deno compile needs the Deno runtime denort-.* DENORT_BIN=\/path\/to\/denort/,
    );
  },
});
