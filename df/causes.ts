/**
 * Names the real cause of a refused handshake, in words an operator can act on, from what the
 * TLS layer (Deno's `node:tls`, rustls) reports: the error message, the certificate
 * verification code it leaves on the socket (`authorizationError`), and whether the client sent
 * anything at all.
 *
 * @module
 */

/** TLS alerts (rustls names) a client sends when it does not accept the server's certificate. */
const CERTIFICATE_ALERTS = [
  "UnknownCA",
  "CertificateExpired",
  "BadCertificate",
  "UnsupportedCertificate",
  "CertificateUnknown",
  "CertificateRevoked",
  "AccessDenied",
];

/** The cause for a client certificate that failed verification for a reason Deno does not say. */
export const CERTIFICATE_NOT_ACCEPTED =
  "client certificate not accepted (unknown CA, expired, not yet valid, or no clientAuth usage)";

/** What the TLS layer left on the connection besides the error message. */
export interface HandshakeContext {
  /** The socket's `authorizationError` (a verification code such as `CERT_HAS_EXPIRED`). */
  authorizationError?: string | null;
  /** Bytes received from the client on the TCP connection. */
  bytesRead?: number;
}

/** Client-certificate verification codes (Node's names, as Deno reports them) -> cause. */
export function certificateCause(code: string): string {
  switch (code) {
    case "CERT_HAS_EXPIRED":
      return "client certificate expired";
    case "CERT_NOT_YET_VALID":
      return "client certificate not yet valid";
    case "INVALID_PURPOSE":
      return "client certificate not valid for client authentication (no clientAuth usage)";
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
      return "client certificate self-signed, not from the CA";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      // Deno 2.9.3 (rustls) reports this one code for a foreign CA, an expired or not yet valid
      // certificate and one without clientAuth alike: name only what it tells apart.
      return CERTIFICATE_NOT_ACCEPTED;
    case "CERT_REVOKED":
      return "client certificate revoked";
    default:
      return `client certificate rejected (${code})`;
  }
}

/** The cause of a handshake df did not complete. */
export function refusalReason(message: string, ctx: HandshakeContext = {}): string {
  const m = message.toLowerCase();
  // An alert df *received* is the client refusing df, not df refusing the client: without this,
  // "received fatal alert: CertificateExpired" (df's own certificate expired) would be logged as
  // "client certificate expired".
  const alert = /received fatal alert: (\w+)/i.exec(message)?.[1];
  if (alert) {
    if (alert === "ProtocolVersion") return "client does not offer TLS 1.3";
    return CERTIFICATE_ALERTS.includes(alert)
      ? `the client does not accept df's certificate (alert ${alert})`
      : `the client aborted the handshake (alert ${alert})`;
  }
  // Deno's TLS server closes the connection without an error when the client's certificate
  // fails verification; the reason stays on the socket.
  if (ctx.authorizationError) return certificateCause(ctx.authorizationError);
  if (m.includes("no certificates") || m.includes("certificaterequired")) {
    return "no client certificate";
  }
  if (
    m.includes("tls12") || m.includes("protocol version") || m.includes("protocolversion") ||
    m.includes("supportedversionsextensionrequired") || m.includes("unsupported_protocol")
  ) {
    return "client does not offer TLS 1.3";
  }
  if (m.includes("unknownissuer") || m.includes("unknown ca") || m.includes("unknown issuer")) {
    return "client certificate from an unknown CA";
  }
  if (m.includes("expired")) return "client certificate expired";
  if (m.includes("notvalidyet") || m.includes("not yet valid")) {
    return "client certificate not yet valid";
  }
  if (m.includes("purpose") || m.includes("extendedkeyusage") || m.includes("invalidpurpose")) {
    return "client certificate not valid for client authentication (no clientAuth usage)";
  }
  if (m.includes("corrupt") || m.includes("invalid content type") || m.includes("wrong version")) {
    return "not a TLS handshake (plaintext or garbage)";
  }
  if (m.includes("socket hang up") || m.includes("econnreset") || m.includes("closed")) {
    return ctx.bytesRead === 0
      ? "no handshake started (the client closed without sending a byte)"
      : "connection dropped during the handshake";
  }
  return message;
}
