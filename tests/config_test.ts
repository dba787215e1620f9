/**
 * Every configuration value of df and smft, wrong in type, range or path, gives one line that
 * names the value and what is expected, and exit code 1. Table-driven over all options.
 */
import assert from "node:assert/strict";
import {
  DF_PERMISSIONS,
  emptyEnvFile,
  run,
  SMFT_PERMISSIONS,
  smftEnv,
  testCerts,
} from "./helpers.ts";
import { DF, SMFT, V8_FLAGS } from "../tools/programs.ts";

type Case = [name: string, env: Record<string, string>, args: string[], expected: RegExp];

const past = new Date(Date.now() - 60_000).toISOString();

const SMFT_CASES: Case[] = [
  ["DF_HOST empty", { DF_HOST: " " }, [], /DF_HOST=" " \(environment\): expected a host name/],
  [
    "DF_PORT not a number",
    { DF_PORT: "http" },
    [],
    /DF_PORT="http" \(environment\): expected an integer from 1 to 65535/,
  ],
  ["--port out of range", {}, ["--port", "0"], /--port="0": expected an integer from 1 to 65535/],
  [
    "N_RPS zero",
    { N_RPS: "0" },
    [],
    /N_RPS="0" \(environment\): expected a rate per second above 0/,
  ],
  ["--rps with a bad list", {}, ["--rps", "500,,1000"], /--rps="500,,1000": expected a rate/],
  [
    "T_DURATION_SEC negative",
    { T_DURATION_SEC: "-5" },
    [],
    /T_DURATION_SEC="-5" \(environment\): expected a number/,
  ],
  ["--duration text", {}, ["--duration", "five"], /--duration="five": expected a number/],
  [
    "T_WARMUP_SEC text",
    { T_WARMUP_SEC: "soon" },
    [],
    /T_WARMUP_SEC="soon" \(environment\): expected a number from 0/,
  ],
  [
    "DEADLINE_MS zero",
    { DEADLINE_MS: "0" },
    [],
    /DEADLINE_MS="0" \(environment\): expected a number from 1/,
  ],
  [
    "--connect-timeout-ms text",
    {},
    ["--connect-timeout-ms", "x"],
    /--connect-timeout-ms="x": expected a number/,
  ],
  [
    "TLS_MODE unknown",
    { TLS_MODE: "ssl" },
    [],
    /TLS_MODE="ssl" \(environment\): expected one of mtls, tls, insecure/,
  ],
  [
    "TLS_CA missing",
    { TLS_CA: "/nonexistent/ca.crt" },
    [],
    /TLS_CA \/nonexistent\/ca\.crt: CA certificate not found/,
  ],
  [
    "TLS_CERT missing",
    { TLS_CERT: "/nonexistent/c.crt" },
    [],
    /TLS_CERT \/nonexistent\/c\.crt: certificate not found/,
  ],
  [
    "TLS_KEY missing",
    { TLS_KEY: "/nonexistent/c.key" },
    [],
    /TLS_KEY \/nonexistent\/c\.key: private key not found/,
  ],
  ["TLS_CA not PEM", { TLS_CA: "deno.json" }, [], /TLS_CA deno\.json: not a PEM CA certificate/],
  [
    "TLS_SERVER_NAME empty",
    { TLS_SERVER_NAME: " " },
    [],
    /TLS_SERVER_NAME=" " \(environment\): expected a host name/,
  ],
  [
    "RESULTS_FILE empty",
    { RESULTS_FILE: " " },
    [],
    /RESULTS_FILE=" " \(environment\): expected a file path/,
  ],
  ["--payload not JSON", {}, ["--payload", "{x"], /--payload="\{x": expected valid JSON/],
  [
    "PAYLOAD_FILE missing",
    { PAYLOAD_FILE: "/nonexistent/p.json" },
    [],
    /PAYLOAD_FILE \/nonexistent\/p\.json: cannot read \(ENOENT\)/,
  ],
  ["--shard malformed", {}, ["--shard", "3/2"], /--shard="3\/2": expected k\/n with 1 <= k <= n/],
  [
    "--start-at not a time",
    {},
    ["--start-at", "tomorrow"],
    /--start-at="tomorrow": expected epoch milliseconds or an ISO time/,
  ],
  ["--start-at in the past", {}, ["--start-at", past], /--start-at .* is already past/],
  ["--slo malformed", {}, ["--slo", "p99 fast"], /--slo/],
  [
    "QUIET not a boolean",
    { QUIET: "maybe" },
    [],
    /QUIET="maybe" \(environment\): expected true or false/,
  ],
  ["insecure without consent", { TLS_MODE: "insecure" }, [], /--allow-insecure/],
  ["an unknown flag", {}, ["--rate", "5"], /Unknown option '--rate'/],
  ["a misspelt flag", {}, ["--rsp", "5"], /Unknown option '--rsp' \(did you mean --rps\?\)$/],
  [
    "a missing env file",
    {},
    ["--env-file", "/nonexistent/.env"],
    /--env-file \/nonexistent\/\.env: file not found/,
  ],
];

const COLDCONN_CASES: Case[] = [
  ["--attempts zero", {}, ["--attempts", "0"], /--attempts="0": expected an integer from 1/],
  ["COLD_RPS a list", { COLD_RPS: "1,2" }, [], /COLD_RPS: coldconn takes one attempt rate/],
  [
    "N_WARMUP_ATTEMPTS negative",
    { N_WARMUP_ATTEMPTS: "-1" },
    [],
    /N_WARMUP_ATTEMPTS="-1" \(environment\): expected an integer from 0 to 1000/,
  ],
  ["--warmup (steady's)", {}, ["--warmup", "5"], /--warmup-attempts <n> \(default 1\)/],
];

async function expectOneLineError(cmd: string[], env: Record<string, string>, expected: RegExp) {
  const r = await run(cmd, env);
  assert.equal(r.code, 1, `exit code\n${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0], expected);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

Deno.test("smft steady names every bad setting in one line and exits 1", async (t) => {
  // A settings error must be reported before any connection is tried.
  const env = await smftEnv({ DF_PORT: "1", T_DURATION_SEC: "1", CONNECT_TIMEOUT_MS: "300" });
  for (const [name, extraEnv, args, expected] of SMFT_CASES) {
    await t.step(name, () =>
      expectOneLineError(
        ["run", ...SMFT_PERMISSIONS, "tools/main.ts", "steady", ...args],
        { ...env, ...extraEnv },
        new RegExp(`^smft: .*${expected.source}`),
      ));
  }
});

Deno.test("smft coldconn names its own bad settings in one line and exits 1", async (t) => {
  const env = await smftEnv({ DF_PORT: "1" });
  for (const [name, extraEnv, args, expected] of COLDCONN_CASES) {
    await t.step(name, () =>
      expectOneLineError(
        ["run", ...SMFT_PERMISSIONS, "tools/main.ts", "coldconn", ...args],
        { ...env, ...extraEnv },
        new RegExp(`^smft: .*${expected.source}`),
      ));
  }
});

Deno.test("df names every bad setting in one line and exits 1", async (t) => {
  const c = await testCerts();
  const base = {
    // The user's own df/.env must not decide these cases.
    ENV_FILE: await emptyEnvFile(),
    TLS_CA: c.caCrt,
    TLS_CERT: c.serverCrt,
    TLS_KEY: c.serverKey,
    DF_HOST: "127.0.0.1",
    DF_PORT: "0",
  };
  const cases: Case[] = [
    [
      "DF_HOST not an address here",
      { DF_HOST: "192.0.2.1" },
      [],
      /address 192\.0\.2\.1 is not available on this host/,
    ],
    [
      "DF_PORT text",
      { DF_PORT: "web" },
      [],
      /DF_PORT="web" \(environment\): expected an integer from 0 to 65535/,
    ],
    [
      "DELAY_MS text",
      { DELAY_MS: "5ms" },
      [],
      /DELAY_MS="5ms" \(environment\): expected a number from 0/,
    ],
    [
      "DELAY_MS too large",
      { DELAY_MS: "999999" },
      [],
      /DELAY_MS="999999" \(environment\): expected a number from 0 to 60000/,
    ],
    [
      "TLS_MODE unknown",
      { TLS_MODE: "on" },
      [],
      /TLS_MODE="on" \(environment\): expected one of mtls, tls, insecure/,
    ],
    [
      "TLS_CA missing",
      { TLS_CA: "/nonexistent/ca.crt" },
      [],
      /TLS_CA \/nonexistent\/ca\.crt: CA certificate not found/,
    ],
    [
      "TLS_CERT not PEM",
      { TLS_CERT: "deno.json" },
      [],
      /TLS_CERT deno\.json: not a PEM certificate/,
    ],
    [
      "TLS_KEY of another certificate",
      { TLS_KEY: c.clientKey },
      [],
      /does not match the certificate/,
    ],
    [
      "DF_GRACE_MS negative",
      { DF_GRACE_MS: "-1" },
      [],
      /DF_GRACE_MS="-1" \(environment\): expected an integer from 0/,
    ],
    [
      "DF_ALLOW_INSECURE not a boolean",
      { DF_ALLOW_INSECURE: "sure" },
      [],
      /DF_ALLOW_INSECURE="sure" \(environment\): expected true or false/,
    ],
  ];
  for (const [name, extraEnv, args, expected] of cases) {
    await t.step(name, () =>
      expectOneLineError(
        ["run", ...DF_PERMISSIONS, "df/main.ts", ...args],
        { ...base, ...extraEnv },
        new RegExp(`^df: .*${expected.source}`),
      ));
  }
});

Deno.test("the deno.json tasks run df and smft exactly as tools/programs.ts says", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)))
    .tasks as Record<string, { command: string }>;
  const line = (p: typeof DF) => `deno run ${[...p.permissions, V8_FLAGS].join(" ")} ${p.entry}`;
  assert.equal(tasks.df.command, line(DF));
  assert.equal(tasks.steady.command, `${line(SMFT)} steady`);
  assert.equal(tasks.coldconn.command, `${line(SMFT)} coldconn`);
  assert.ok(tasks.demo.command.includes(V8_FLAGS));
});
