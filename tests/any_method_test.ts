/**
 * smft against a service that is not df (issue 27): a grpc-js server started here with its own
 * `.proto` (tests/fixtures/shop: nested, repeated, map, enum, 64-bit fields, an import), over
 * TLS 1.3 + mTLS on loopback, that requires a bearer token and records every request it gets.
 * smft runs as a real process with `--proto` or `--reflect`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { loadTls, serverCredentials } from "../certs/tls.ts";
import { readResultsFile, ROOT, startSmft, tempResults, testCerts } from "./helpers.ts";

const SHOP = join(ROOT, "tests/fixtures/shop/shop.proto");
const COMMON = join(ROOT, "tests/fixtures/common");
const TOKEN = "Bearer s3cret-token";

/** The request as given to smft: lowerCamelCase and .proto names, enum by name, 64-bit as text. */
const DATA = {
  customerId: "9007199254740993",
  lines: [
    { sku: "A-1", qty: 2, price: { currency: "EUR", units: "1999" } },
    { sku: "B-2", qty: 1 },
  ],
  counters: { x: "5", y: 7 },
  tier: "GOLD",
  tags: ["red", "big"],
  big: "18446744073709551615",
};

/** What the server must decode from every call (its own loader: 64-bit as strings). */
const EXPECTED = {
  customer_id: "9007199254740993",
  lines: [
    { sku: "A-1", qty: 2, price: { currency: "EUR", units: "1999" } },
    { sku: "B-2", qty: 1 },
  ],
  counters: { x: "5", y: "7" },
  tier: "GOLD",
  tags: ["red", "big"],
  big: "18446744073709551615",
};

interface Shop {
  port: number;
  /** Every request the server decoded, and its authorization header. */
  got: { request: unknown; auth: string | undefined }[];
  close: () => Promise<void>;
}

async function startShop(o: { reflection: boolean }): Promise<Shop> {
  const c = await testCerts();
  const def = protoLoader.loadSync(SHOP, {
    keepCase: true,
    longs: String,
    enums: String,
    includeDirs: [COMMON],
  });
  const service = (def["shop.v1.Pricing"] as unknown) as grpc.ServiceDefinition;
  const got: Shop["got"] = [];
  const server = new grpc.Server();
  server.addService(service, {
    GetQuote: (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) => {
      const auth = call.metadata.get("authorization")[0] as string | undefined;
      got.push({ request: call.request, auth });
      if (auth !== TOKEN) {
        return cb({ code: grpc.status.UNAUTHENTICATED, details: "bearer token required" });
      }
      cb(null, { total: "42" });
    },
    WatchQuote: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  if (o.reflection) new ReflectionService(def).addToServer(server);
  const tls = loadTls("mtls", { ca: c.caCrt, cert: c.serverCrt, key: c.serverKey }, "server");
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      serverCredentials("mtls", tls),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  return {
    port,
    got,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A short steady run of smft against the shop server. */
async function steady(port: number, out: string, extra: string[]) {
  const smft = await startSmft([
    "steady",
    "--rps",
    "100",
    "--duration",
    "1",
    "--warmup",
    "0.2",
    "--out",
    out,
    "--quiet",
    "--call",
    "shop.v1.Pricing/GetQuote",
    ...extra,
  ], { DF_PORT: String(port) });
  const status = await smft.wait();
  return Object.assign(smft, { code: status.code });
}

for (const how of ["--proto", "--reflect"] as const) {
  Deno.test(`smft ${how}: the server receives exactly --data, with the token, on every call`, async () => {
    const shop = await startShop({ reflection: how === "--reflect" });
    const dir = await tempResults();
    const out = join(dir, "shop.txt");
    try {
      const schema = how === "--proto" ? ["--proto", SHOP, "--import-path", COMMON] : ["--reflect"];
      const smft = await steady(shop.port, out, [
        ...schema,
        "--data",
        JSON.stringify(DATA),
        "--metadata",
        `authorization: ${TOKEN}`,
        // --proto also runs over two connections (worker threads), with Poisson arrivals.
        ...(how === "--proto"
          ? ["--arrival", "poisson", "--seed", "7", "--connections", "2", "--pacing", "timer"]
          : []),
      ]);
      // Ran to its end (VALID or not on a shared machine): never a configuration error.
      assert.ok([0, 3].includes(smft.code), smft.stderr);
      assert.match(
        smft.stdout,
        how === "--proto"
          ? /Method: shop\.v1\.Pricing\/GetQuote \(schema proto:.*shop\.proto, request \d+ bytes, metadata authorization\)/
          : /Method: shop\.v1\.Pricing\/GetQuote \(schema reflection:v1,/,
      );
      const r = await readResultsFile(out);
      // Warm-up calls and measured calls: the server saw each, all equal to --data.
      assert.ok(shop.got.length >= r.lines.length && r.lines.length > 50, `${shop.got.length}`);
      for (const g of shop.got) {
        assert.deepEqual(g.request, EXPECTED);
        assert.equal(g.auth, TOKEN);
      }
      assert.ok(r.lines.every((l) => l.ok === true), "every call OK");
      assert.equal(r.meta.method, "shop.v1.Pricing/GetQuote");
      assert.match(String(r.meta.schema), how === "--proto" ? /^proto:/ : /^reflection:v1$/);
      if (how === "--proto") {
        // Poisson: recorded, and the intended instants' gaps vary like exponential ones.
        assert.equal(r.meta.arrival, "poisson");
        assert.equal(r.meta.seed, 7);
        assert.equal(r.meta.connections, 2);
        assert.match(smft.stdout, /Arrivals: poisson \(exponential gaps, seed 7;/);
        const t = r.lines.map((l) => l.t_ms as number).sort((a, b) => a - b);
        const gaps = t.slice(1).map((v, i) => v - t[i]);
        const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
        const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
        assert.ok(sd / mean > 0.6, `CV ${sd / mean}`);
      } else {
        assert.equal(r.meta.arrival, "constant");
      }
    } finally {
      await shop.close();
    }
  });
}

Deno.test("smft: a call without the token is counted as UNAUTHENTICATED, line by line", async () => {
  const shop = await startShop({ reflection: false });
  const dir = await tempResults();
  const out = join(dir, "noauth.txt");
  try {
    const smft = await steady(shop.port, out, [
      "--proto",
      SHOP,
      "--import-path",
      COMMON,
      "--data",
      JSON.stringify(DATA),
    ]);
    const r = await readResultsFile(out);
    assert.ok(r.lines.length > 50);
    assert.ok(r.lines.every((l) => l.ok === false && l.code === "UNAUTHENTICATED"));
    assert.deepEqual(r.end?.errors, { UNAUTHENTICATED: r.lines.length });
    assert.match(smft.stdout, /UNAUTHENTICATED/);
    assert.ok(shop.got.every((g) => g.auth === undefined));
  } finally {
    await shop.close();
  }
});

/** smft with a bad --call setting: one line on stderr, exit 1, nothing sent. */
async function refused(args: string[], port = 1): Promise<string> {
  const dir = await tempResults();
  const smft = await startSmft([
    "steady",
    "--out",
    join(dir, "x.txt"),
    "--quiet",
    "--connect-timeout-ms",
    "3000",
    ...args,
  ], { DF_PORT: String(port) });
  const status = await smft.wait();
  assert.equal(status.code, 1, smft.stderr);
  const lines = smft.stderr.trim().split("\n");
  assert.equal(lines.length, 1, smft.stderr);
  return lines[0];
}

const PROTO = ["--proto", SHOP, "--import-path", COMMON];

Deno.test("smft: an unknown method, field or a streaming method is one line, exit 1", async () => {
  assert.match(
    await refused([...PROTO, "--call", "shop.v1.Pricing/GetPrice"]),
    /^smft: --call shop\.v1\.Pricing\/GetPrice: shop\.v1\.Pricing has no method GetPrice; its methods: GetQuote, WatchQuote$/,
  );
  assert.match(
    await refused([...PROTO, "--call", "shop.v1.Nope/GetQuote"]),
    /no service shop\.v1\.Nope in proto:.*; its services: shop\.v1\.Pricing$/,
  );
  assert.match(
    await refused([
      ...PROTO,
      "--call",
      "shop.v1.Pricing/GetQuote",
      "--data",
      '{"lines":[{"sku":"a","colour":"red"}]}',
    ]),
    /^smft: --data: lines\[0\]: message shop\.v1\.Quote\.Line has no field "colour"; its fields: sku, qty, price$/,
  );
  assert.match(
    await refused([...PROTO, "--call", "shop.v1.Pricing/WatchQuote"]),
    /^smft: --call shop\.v1\.Pricing\/WatchQuote: a server streaming method; smft measures unary calls only/,
  );
  assert.match(
    await refused([...PROTO, "--call", "shop.v1.Pricing/GetQuote", "--data", '{"tier":"BRONZE"}']),
    /"BRONZE" is not a value of enum shop\.v1\.Tier; its values: TIER_UNSPECIFIED, GOLD, SILVER/,
  );
  assert.match(
    await refused(["--call", "shop.v1.Pricing/GetQuote"]),
    /needs its schema: --proto FILE .* or --reflect/,
  );
  assert.match(
    await refused(["--metadata", "no colon here"]),
    /--metadata "no colon here": expected 'key: value'/,
  );
});

Deno.test("smft --reflect: a server without reflection is one line that suggests --proto", async () => {
  const shop = await startShop({ reflection: false });
  try {
    assert.match(
      await refused(["--reflect", "--call", "shop.v1.Pricing/GetQuote"], shop.port),
      /^smft: --reflect: the server does not offer reflection .*give the schema with --proto FILE$/,
    );
  } finally {
    await shop.close();
  }
  const withReflection = await startShop({ reflection: true });
  try {
    assert.match(
      await refused(["--reflect", "--call", "shop.v1.Pricing/Nope"], withReflection.port),
      /shop\.v1\.Pricing has no method Nope; its methods: GetQuote, WatchQuote$/,
    );
    assert.match(
      await refused(["--reflect", "--call", "shop.v2.Pricing/GetQuote"], withReflection.port),
      /the server has no service shop\.v2\.Pricing .*its services: .*shop\.v1\.Pricing/,
    );
  } finally {
    await withReflection.close();
  }
  // The fixture is what the test says it is.
  assert.match(readFileSync(SHOP, "utf8"), /map<string, int64> counters/);
});

Deno.test("smft coldconn --call: each attempt's one call is the method, with --data and the token", async () => {
  const shop = await startShop({ reflection: false });
  const dir = await tempResults();
  const out = join(dir, "cold.txt");
  try {
    const smft = await startSmft([
      "coldconn",
      ...["--rps", "20", "--attempts", "6", "--out", out, "--quiet", "--pacing", "timer"],
      ...["--call", "shop.v1.Pricing/GetQuote", "--proto", SHOP, "--import-path", COMMON],
      ...["--data", JSON.stringify(DATA), "--metadata", `authorization: ${TOKEN}`],
    ], { DF_PORT: String(shop.port) });
    const status = await smft.wait();
    assert.ok([0, 3].includes(status.code), smft.stderr);
    const r = await readResultsFile(out);
    assert.equal(r.lines.length, 6);
    assert.ok(r.lines.every((l) => l.ok === true), JSON.stringify(r.lines));
    // Six measured attempts and one unrecorded warm-up attempt (--warmup-attempts 1).
    assert.equal(shop.got.length, 7);
    for (const g of shop.got) {
      assert.deepEqual(g.request, EXPECTED);
      assert.equal(g.auth, TOKEN);
    }
    assert.equal(r.meta.method, "shop.v1.Pricing/GetQuote");
  } finally {
    await shop.close();
  }
});
