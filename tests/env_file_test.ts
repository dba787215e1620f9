/**
 * The `.env` file as a user meets it: a misspelt key is warned about (not ignored in silence),
 * `ENV_FILE` chooses the file where `--env-file` cannot pass (through npx), and the tests' own
 * processes never read the user's `.env` files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveOptions, SUITE_ENV_KEYS, unknownKeys } from "../smft/shared/layered_config.ts";
import { DF_OPTIONS } from "../df/options.ts";
import { OPTIONS } from "../smft/option_table.ts";
import { dfEnv, run, smftEnv } from "./helpers.ts";

const DEFS = {
  port: { flag: "port", env: "DF_PORT", default: 50051, help: "port" },
  delay: { flag: "delay", env: "DELAY_MS", default: 5, help: "delay" },
};

async function withEnvFile(text: string, fn: (path: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "env-file-" });
  try {
    const path = join(dir, ".env");
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a misspelt key in a .env file is warned about, with the setting it is nearest", async () => {
  await withEnvFile("DF_PROT=50052\nN_RSP=10\nDF_FOO=1\nHOME_DIR=/x\nT_WARMUP_SEC=3\n", (path) => {
    const r = resolveOptions(DEFS, { args: [], env: {}, envFiles: [path] });
    assert.deepEqual(r.warnings, [
      `${path}: unknown setting DF_PROT (did you mean DF_PORT?): ignored`,
      `${path}: unknown setting N_RSP (did you mean N_RPS?): ignored`,
      `${path}: unknown setting DF_FOO: ignored`,
    ]);
    assert.equal(r.values.port, 50051, "the misspelt key is not taken");
  });
});

Deno.test("ENV_FILE chooses the .env file; --env-file wins over it; a missing one is one line", async () => {
  await withEnvFile("DF_PORT=4000\n", async (path) => {
    const r = resolveOptions(DEFS, { args: [], env: { ENV_FILE: path }, envFiles: [] });
    assert.equal(r.values.port, "4000");
    assert.equal(r.envFile, path);
    assert.throws(
      () => resolveOptions(DEFS, { args: ["--env-file", "/no/such"], env: { ENV_FILE: path } }),
      { message: "--env-file /no/such: file not found" },
    );
    // Through a real df process: ENV_FILE reaches it (npx cannot pass --env-file on Node 20).
    const res = await run(["run", "-A", "df/main.ts"], {
      ...(await dfEnv()),
      ENV_FILE: "/no/such/.env",
    });
    assert.equal(res.code, 1);
    assert.equal(res.stderr.trim(), "df: ENV_FILE /no/such/.env: file not found");
  });
});

Deno.test("every setting df and smft read is in SUITE_ENV_KEYS, so a shared .env warns only of mistakes", () => {
  const tables = [DF_OPTIONS, OPTIONS.steady, OPTIONS.coldconn] as Record<
    string,
    { env?: string }
  >[];
  const keys = tables.flatMap((t) => Object.values(t).flatMap((d) => (d.env ? [d.env] : [])));
  assert.deepEqual(keys.filter((k) => !SUITE_ENV_KEYS.includes(k)), []);
  assert.deepEqual(unknownKeys(keys, []), []);
});

Deno.test("the tests' df and smft read no .env of the user's: ENV_FILE points at an empty file", async () => {
  for (const env of [await dfEnv(), await smftEnv()]) {
    assert.ok(env.ENV_FILE, "ENV_FILE is set");
    assert.equal(await Deno.readTextFile(env.ENV_FILE), "");
  }
});
