import assert from "node:assert/strict";
import { CERTIFICATE_NOT_ACCEPTED, certificateCause, refusalReason } from "./causes.ts";

Deno.test("refusalReason() names a rejected client certificate from the code the TLS layer left", () => {
  const hangUp = "socket hang up";
  assert.equal(
    refusalReason(hangUp, { authorizationError: "CERT_HAS_EXPIRED", bytesRead: 900 }),
    "client certificate expired",
  );
  assert.equal(
    refusalReason(hangUp, { authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }),
    CERTIFICATE_NOT_ACCEPTED,
  );
  assert.match(certificateCause("INVALID_PURPOSE"), /no clientAuth/);
  assert.equal(certificateCause("CERT_NOT_YET_VALID"), "client certificate not yet valid");
  assert.equal(certificateCause("SOMETHING_NEW"), "client certificate rejected (SOMETHING_NEW)");
});

Deno.test("refusalReason() tells a connection that never started a handshake from one dropped during it", () => {
  assert.match(refusalReason("socket hang up", { bytesRead: 0 }), /^no handshake started/);
  assert.equal(
    refusalReason("read ECONNRESET", { bytesRead: 200 }),
    "connection dropped during the handshake",
  );
});

Deno.test("refusalReason() says 'client does not offer TLS 1.3' instead of rustls's raw words", () => {
  for (
    const m of [
      "peer is incompatible: SupportedVersionsExtensionRequired",
      "received fatal alert: ProtocolVersion",
      "peer is incompatible: Tls12NotOffered",
    ]
  ) {
    assert.equal(refusalReason(m), "client does not offer TLS 1.3", m);
  }
});

Deno.test("refusalReason() blames the client's refusal of df's certificate on the client's side", () => {
  assert.equal(
    refusalReason("received fatal alert: UnknownCA"),
    "the client does not accept df's certificate (alert UnknownCA)",
  );
  assert.equal(refusalReason("peer sent no certificates"), "no client certificate");
  assert.equal(
    refusalReason("InvalidMessage(InvalidContentType) (wrong version number)"),
    "not a TLS handshake (plaintext or garbage)",
  );
});
