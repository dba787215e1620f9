import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CertsError,
  createCa,
  FILE_NAMES,
  generateCerts,
  issueCert,
  normalizeSans,
} from "./generate.ts";

const DAY = 86_400_000;

async function openssl(...args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

async function certText(path: string): Promise<string> {
  const r = await openssl("x509", "-in", path, "-noout", "-text");
  assert.ok(r.ok, r.out);
  return r.out;
}

/** One shared default (EC) run for the read-only checks; each test that writes uses its own. */
let shared: Promise<{ dir: string; files: Record<keyof typeof FILE_NAMES, string> }> | undefined;
function sharedCerts() {
  shared ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "certs-test-" });
    const r = await generateCerts({ out: join(dir, "certs"), sans: ["IP:10.1.2.3"] });
    return { dir, files: r.files };
  })();
  return shared;
}

Deno.test.afterAll(async () => {
  if (shared) await Deno.remove((await shared).dir, { recursive: true });
});

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "certs-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("generateCerts() writes six files, keys at mode 0600 and certificates at 0644", async () => {
  const { files } = await sharedCerts();
  for (const [name, path] of Object.entries(files)) {
    const mode = (await Deno.stat(path)).mode! & 0o777;
    assert.equal(mode, name.endsWith("Key") ? 0o600 : 0o644, `${path} mode ${mode.toString(8)}`);
  }
  const left = [...Deno.readDirSync(join(files.caCrt, ".."))].map((e) => e.name).sort();
  assert.deepEqual(left, Object.values(FILE_NAMES).sort(), "no .csr, .srl or temp files remain");
});

Deno.test("the server certificate carries localhost, 127.0.0.1, ::1 and every SAN given", async () => {
  const { files } = await sharedCerts();
  const text = await certText(files.serverCrt);
  assert.match(text, /Subject: CN = localhost/);
  const sans = /Subject Alternative Name:.*\n\s*(.*)/.exec(text)?.[1];
  assert.equal(
    sans,
    "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.1.2.3",
  );
});

Deno.test("server and client certificates have serverAuth and clientAuth, and the CA is a CA", async () => {
  const { files } = await sharedCerts();
  const server = await certText(files.serverCrt);
  const client = await certText(files.clientCrt);
  const ca = await certText(files.caCrt);
  assert.match(server, /Extended Key Usage:\s*\n\s*TLS Web Server Authentication\n/);
  assert.match(client, /Extended Key Usage:\s*\n\s*TLS Web Client Authentication\n/);
  assert.match(client, /Subject: CN = smft-client/);
  for (const leaf of [server, client]) {
    assert.match(leaf, /Basic Constraints: critical\s*\n\s*CA:FALSE/);
    assert.match(leaf, /Key Usage: critical\s*\n\s*Digital Signature\n/);
  }
  assert.match(ca, /Subject: CN = smft-latency-test-ca/);
  assert.match(ca, /Basic Constraints: critical\s*\n\s*CA:TRUE/);
  assert.match(ca, /Key Usage: critical\s*\n\s*Certificate Sign, CRL Sign/);
});

Deno.test("keys are ECDSA P-256 in PKCS#8 PEM by default", async () => {
  const { files } = await sharedCerts();
  for (const key of [files.caKey, files.serverKey, files.clientKey]) {
    assert.match(await Deno.readTextFile(key), /^-----BEGIN PRIVATE KEY-----\n/);
    const r = await openssl("pkey", "-in", key, "-noout", "-text");
    assert.ok(r.ok, r.out);
    assert.match(r.out, /NIST CURVE: P-256/);
  }
  assert.match(await certText(files.serverCrt), /ecdsa-with-SHA256/);
});

Deno.test("openssl verify accepts the server and client certificates against ca.crt", async () => {
  const { files } = await sharedCerts();
  const server = await openssl(
    "verify",
    "-purpose",
    "sslserver",
    "-CAfile",
    files.caCrt,
    files.serverCrt,
  );
  assert.ok(server.ok, server.out);
  const client = await openssl(
    "verify",
    "-purpose",
    "sslclient",
    "-CAfile",
    files.caCrt,
    files.clientCrt,
  );
  assert.ok(client.ok, client.out);
});

Deno.test("rsaBits 4096 makes RSA-4096 keys with keyEncipherment", async () => {
  await withTemp(async (dir) => {
    const { files } = await generateCerts({ out: dir, rsaBits: 4096 });
    const r = await openssl("pkey", "-in", files.serverKey, "-noout", "-text");
    assert.match(r.out, /Private-Key: \(4096 bit, 2 primes\)/);
    assert.match(await Deno.readTextFile(files.serverKey), /^-----BEGIN PRIVATE KEY-----\n/);
    const text = await certText(files.serverCrt);
    assert.match(text, /Public-Key: \(4096 bit\)/);
    assert.match(text, /Digital Signature, Key Encipherment/);
    assert.ok((await openssl("verify", "-CAfile", files.caCrt, files.clientCrt)).ok);
  });
});

Deno.test("a second run without force keeps every file byte-identical; force replaces them", async () => {
  await withTemp(async (dir) => {
    const first = await generateCerts({ out: dir });
    assert.equal(first.written, true);
    const read = () => Promise.all(Object.values(first.files).map((p) => Deno.readFile(p)));
    const before = await read();

    const again = await generateCerts({ out: dir, days: 30 });
    assert.equal(again.written, false);
    assert.deepEqual(again.existing, Object.values(FILE_NAMES));
    assert.deepEqual(await read(), before);

    const forced = await generateCerts({ out: dir, force: true });
    assert.equal(forced.written, true);
    const after = await read();
    after.forEach((bytes, i) => assert.notDeepEqual(bytes, before[i]));
    assert.equal((await Deno.stat(first.files.caKey)).mode! & 0o777, 0o600);
  });
});

Deno.test("one existing file is enough to keep everything and write nothing", async () => {
  await withTemp(async (dir) => {
    await Deno.writeTextFile(join(dir, "server.crt"), "mine");
    const r = await generateCerts({ out: dir });
    assert.equal(r.written, false);
    assert.deepEqual(r.existing, ["server.crt"]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["server.crt"]);
    assert.equal(await Deno.readTextFile(join(dir, "server.crt")), "mine");
  });
});

Deno.test("normalizeSans() classifies bare names and addresses and splits commas", () => {
  assert.deepEqual(
    normalizeSans([
      "IP:10.0.0.2",
      "DNS:df.example",
      "host-1.lan, 192.168.1.9",
      "fe80::1",
      "ip:10.0.0.2",
    ]),
    ["IP:10.0.0.2", "DNS:df.example", "DNS:host-1.lan", "IP:192.168.1.9", "IP:fe80::1"],
  );
  assert.deepEqual(normalizeSans(["*.svc.example"]), ["DNS:*.svc.example"]);
});

Deno.test("normalizeSans() rejects a bad SAN with one clear line", () => {
  for (const bad of ["IP:10.0.0.300", "DNS:bad_name", "URI:https://x", "-lead.example", "a b"]) {
    assert.throws(() => normalizeSans([bad]), (err: unknown) => {
      assert.ok(err instanceof CertsError);
      assert.match(err.message, /^bad SAN "/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
});

Deno.test("generateCerts() rejects bad days and RSA sizes before running openssl", async () => {
  await assert.rejects(generateCerts({ out: "unused", days: 0 }), CertsError);
  await assert.rejects(generateCerts({ out: "unused", days: 1.5 }), CertsError);
  await assert.rejects(generateCerts({ out: "unused", rsaBits: 1024 }), CertsError);
});

Deno.test("issueCert() makes an expired certificate that openssl verify rejects as expired", async () => {
  const { dir, files } = await sharedCerts();
  const now = Date.now();
  const cert = await issueCert({
    caCrt: files.caCrt,
    caKey: files.caKey,
    out: join(dir, "expired-client"),
    cn: "smft-client",
    kind: "client",
    notBefore: new Date(now - 10 * DAY),
    notAfter: new Date(now - DAY),
  });
  assert.equal((await Deno.stat(cert.key)).mode! & 0o777, 0o600);
  assert.match(await certText(cert.crt), /TLS Web Client Authentication/);
  const r = await openssl("verify", "-CAfile", files.caCrt, cert.crt);
  assert.equal(r.ok, false);
  assert.match(r.out, /certificate has expired/);
});

Deno.test("issueCert() makes a not-yet-valid certificate that openssl verify rejects", async () => {
  const { dir, files } = await sharedCerts();
  const cert = await issueCert({
    caCrt: files.caCrt,
    caKey: files.caKey,
    out: join(dir, "future-server"),
    cn: "localhost",
    kind: "server",
    sans: ["localhost"],
    notBefore: new Date(Date.now() + 2 * DAY),
  });
  const text = await certText(cert.crt);
  assert.match(text, /DNS:localhost/);
  const r = await openssl("verify", "-CAfile", files.caCrt, cert.crt);
  assert.equal(r.ok, false);
  assert.match(r.out, /certificate is not yet valid/);
});

Deno.test("issueCert() makes a client certificate without clientAuth that fails as sslclient", async () => {
  const { dir, files } = await sharedCerts();
  const cert = await issueCert({
    caCrt: files.caCrt,
    caKey: files.caKey,
    out: join(dir, "server-only"),
    cn: "smft-client",
    kind: "server",
  });
  assert.ok((await openssl("verify", "-CAfile", files.caCrt, cert.crt)).ok);
  const r = await openssl("verify", "-purpose", "sslclient", "-CAfile", files.caCrt, cert.crt);
  assert.equal(r.ok, false);
  assert.match(r.out, /unsuitable certificate purpose/);
});

Deno.test("a certificate from createCa()'s foreign CA fails verification against ca.crt", async () => {
  const { dir, files } = await sharedCerts();
  const other = await createCa({ out: join(dir, "other-ca") });
  const cert = await issueCert({
    caCrt: other.crt,
    caKey: other.key,
    out: join(dir, "foreign-client"),
    cn: "smft-client",
    kind: "client",
  });
  assert.ok((await openssl("verify", "-CAfile", other.crt, cert.crt)).ok);
  const r = await openssl("verify", "-CAfile", files.caCrt, cert.crt);
  assert.equal(r.ok, false);
  assert.match(r.out, /unable to get local issuer certificate/);
});

Deno.test("issueCert() rejects notBefore after notAfter and a strange common name", async () => {
  const { dir, files } = await sharedCerts();
  const base = {
    caCrt: files.caCrt,
    caKey: files.caKey,
    out: join(dir, "x"),
    kind: "none" as const,
  };
  await assert.rejects(
    issueCert({ ...base, cn: "x", notBefore: new Date(), notAfter: new Date(Date.now() - DAY) }),
    CertsError,
  );
  await assert.rejects(issueCert({ ...base, cn: "a/CN=b" }), CertsError);
});

// --- CLI -------------------------------------------------------------------------------------

const MAIN = join(import.meta.dirname!, "main.ts");

async function cli(args: string[], env?: Record<string, string>) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "--allow-run=openssl", "--allow-read", "--allow-write", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

function assertOneErrorLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${stderr}`);
  assert.match(lines[0], pattern);
}

Deno.test("the CLI writes the files, then keeps them and says --force replaces them", async () => {
  await withTemp(async (dir) => {
    const first = await cli(["--out", dir, "--san", "IP:10.0.0.2,df.example"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /wrote .*IP:10\.0\.0\.2, DNS:df\.example/);
    const second = await cli(["--out", dir]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout.trim().split("\n").length, 1);
    assert.match(second.stdout, /kept existing files .*--force replaces them/);
  });
});

Deno.test("the CLI rejects --days abc with exit 1 and one stderr line", async () => {
  const r = await cli(["--days", "abc", "--out", "/nonexistent/never"]);
  assert.equal(r.code, 1);
  assertOneErrorLine(r.stderr, /^certs: --days must be a whole number, got "abc"$/);
});

Deno.test("the CLI rejects an unknown flag and a bad SAN with one line each", async () => {
  const unknown = await cli(["--bogus"]);
  assert.equal(unknown.code, 1);
  assertOneErrorLine(unknown.stderr, /^certs: Unknown option '--bogus'/);
  const san = await cli(["--san", "DNS:bad_name", "--out", "/nonexistent/never"]);
  assert.equal(san.code, 1);
  assertOneErrorLine(san.stderr, /^certs: bad SAN "DNS:bad_name"/);
});

Deno.test("the CLI fails with one line naming the folder when --out is under a regular file", async () => {
  await withTemp(async (dir) => {
    const file = join(dir, "plain-file");
    await Deno.writeTextFile(file, "");
    const out = join(file, "certs");
    const r = await cli(["--out", out]);
    assert.equal(r.code, 1);
    assertOneErrorLine(r.stderr, /^certs: cannot create folder .*plain-file\/certs/);
  });
});

Deno.test("the CLI says openssl is not found when PATH lacks it", async () => {
  await withTemp(async (dir) => {
    const r = await cli(["--out", join(dir, "certs")], { PATH: dir });
    assert.equal(r.code, 1);
    assertOneErrorLine(
      r.stderr,
      /^certs: openssl not found on PATH; install it \(Debian: apt-get install openssl\)$/,
    );
    assert.deepEqual([...Deno.readDirSync(join(dir, "certs"))], []);
  });
});

Deno.test("the CLI prints usage for --help", async () => {
  const r = await cli(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: deno task certs/);
  assert.match(r.stdout, /relative to the current directory/);
});
