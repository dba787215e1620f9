/**
 * Every CA the certs task makes has a name of its own, an error can tell two CAs of one name
 * apart, and a request the kept files cannot honour (`--san` without `--force`) fails in one line.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { createCa, generateCerts } from "./generate.ts";
import { caMismatch } from "./tls.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "certs-names-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const x509 = async (path: string) => new X509Certificate(await Deno.readFile(path));

function certs(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "--allow-run=openssl",
      "--allow-read",
      "--allow-write",
      "certs/main.ts",
      ...args,
    ],
    env: { NO_COLOR: "1" },
  }).output().then((o) => ({
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
  }));
}

Deno.test("two runs of the certs task make two CAs with different names", async () => {
  await withDir(async (dir) => {
    const a = await generateCerts({ out: join(dir, "a") });
    const b = await generateCerts({ out: join(dir, "b") });
    const [ca, cb] = [await x509(a.files.caCrt), await x509(b.files.caCrt)];
    assert.match(ca.subject, /^CN=smft-latency-test-ca \d{4}-\d\d-\d\d [0-9a-f]{6}$/);
    assert.notEqual(ca.subject, cb.subject);
    // Each server certificate names its own CA as issuer.
    assert.equal((await x509(a.files.serverCrt)).issuer, ca.subject);
  });
});

Deno.test("caMismatch() names CAs of one name by SHA-256 fingerprint", async () => {
  await withDir(async (dir) => {
    const one = await createCa({ out: join(dir, "one"), cn: "same-name-ca" });
    const two = await createCa({ out: join(dir, "two"), cn: "same-name-ca" });
    const other = await createCa({ out: join(dir, "other"), cn: "other-ca" });
    const c2 = await x509(two.crt);
    const c1 = await x509(one.crt);
    assert.equal(
      caMismatch(c1.subject, [await x509(other.crt)]),
      "issued by CN=same-name-ca, not by the CA in TLS_CA (CN=other-ca)",
    );
    assert.equal(
      caMismatch(c1.subject, [c2]),
      `issued by another CA named CN=same-name-ca, not by the CA in TLS_CA of that name (CN=same-name-ca, SHA-256 ${c2.fingerprint256})`,
    );
  });
});

Deno.test("certs --san after earlier certificates fails in one line without --force, and works with it", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "c");
    const first = await certs(["--out", out]);
    assert.equal(first.code, 0, first.stderr);
    const before = await Deno.readTextFile(join(out, "server.crt"));
    const again = await certs(["--out", out]);
    assert.equal(again.code, 0, "nothing new asked: the files are kept");
    assert.match(again.stdout, /kept existing files/);
    const san = await certs(["--out", out, "--san", "IP:10.0.0.5"]);
    assert.equal(san.code, 1);
    assert.equal(san.stderr.trim().split("\n").length, 1, san.stderr);
    assert.match(
      san.stderr,
      /^certs: .* already holds .*: the settings asked for \(--san, --days, --rsa\) need new certificates; add --force/,
    );
    assert.equal(await Deno.readTextFile(join(out, "server.crt")), before, "nothing replaced");
    const forced = await certs(["--out", out, "--san", "IP:10.0.0.5", "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok((await x509(join(out, "server.crt"))).checkIP("10.0.0.5"));
  });
});
