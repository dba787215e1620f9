import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { decodeToObject, encodeRequest, findMethod, loadProtoFiles } from "./method.ts";
import { ConfigError } from "./shared/layered_config.ts";

const fixture = (p: string) => fileURLToPath(new URL(`../tests/fixtures/${p}`, import.meta.url));
const root = loadProtoFiles([fixture("shop/shop.proto")], [fixture("common")]);
const quote = findMethod(root, "shop.v1.Pricing/GetQuote", "shop.proto").request;

Deno.test("method: .proto names and lowerCamelCase, numbers and strings encode the same bytes", () => {
  const a = encodeRequest(
    quote,
    '{"customer_id":"12","tier":"SILVER","counters":{"k":3},"lines":[{"sku":"s","qty":"2"}]}',
    "--data",
  );
  const b = encodeRequest(
    quote,
    '{"customerId":12,"tier":2,"counters":{"k":"3"},"lines":[{"sku":"s","qty":2}]}',
    "--data",
  );
  assert.deepEqual(a, b);
  assert.deepEqual(decodeToObject(quote, a), {
    customer_id: "12",
    tier: "SILVER",
    counters: { k: "3" },
    lines: [{ sku: "s", qty: 2 }],
  });
  // Beyond 2^53: only a string keeps every digit.
  const big = encodeRequest(quote, '{"big":"18446744073709551615"}', "--data");
  assert.equal(decodeToObject(quote, big).big, "18446744073709551615");
});

Deno.test("method: a wrong value names where it is and what was expected", () => {
  const refused: [string, RegExp][] = [
    ['{"nope":1}', /message shop\.v1\.Quote has no field "nope"; its fields: customer_id, lines/],
    ['{"lines":{"sku":"a"}}', /lines: expected a JSON array/],
    ['{"lines":[{"qty":"two"}]}', /lines\[0\]\.qty: expected an integer \(int32\)/],
    ['{"customer_id":1.5}', /customer_id: expected an integer or a string of digits/],
    ['{"counters":{"a":{"b":1}}}', /counters\["a"\]: expected an integer/],
    ["[1]", /expected a JSON object for message shop\.v1\.Quote/],
    ["{", /--data: not valid JSON/],
  ];
  for (const [json, re] of refused) {
    assert.throws(
      () => encodeRequest(quote, json, "--data"),
      (e) => e instanceof ConfigError && re.test(e.message),
      json,
    );
  }
});

Deno.test("method: a missing .proto or import is one line", () => {
  assert.throws(
    () => loadProtoFiles(["no/such.proto"], []),
    (e) => e instanceof ConfigError && /--proto no\/such\.proto: file not found/.test(e.message),
  );
  assert.throws(
    () => loadProtoFiles([fixture("shop/shop.proto")], []),
    (e) =>
      e instanceof ConfigError && /money\/money\.proto/.test(e.message) &&
      !e.message.includes("\n"),
  );
});
