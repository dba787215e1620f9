/**
 * A call's gRPC status from what the server sent: its trailers (or a trailers-only response), its
 * HTTP status, or the stream's reset. Steady's own client (`h2_channel.ts`) reads it here; for
 * grpc-js (coldconn, reflection) every `grpc-status` is checked before grpc-js reads it, because a
 * status that is not a code would reach grpc-js as NaN or as OK.
 *
 * @module
 */
import http2 from "node:http2";
import { HANDLING_METADATA_KEY } from "../proto/score.ts";

/** How a call ended. `handling`: the `df-handling-us` values sent with its status. */
export interface CallStatus {
  code: number;
  details: string;
  handling?: string[];
}

/** `grpc-status` as the gRPC spec writes it: a decimal code from 0 to 16, nothing else. */
const CANONICAL_STATUS = /^(?:[0-9]|1[0-6])$/;

/** `grpc-message` as sent: percent-encoded; text that does not decode is kept as it came. */
function messageOf(raw: unknown): string {
  if (raw === undefined) return "";
  const text = String(raw);
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The status in `headers` (trailers, or a trailers-only response), or undefined when they carry
 * none. A `grpc-status` that is not a code (`abc`, `0x0`, empty, `99`, sent twice) is INTERNAL
 * (13, as grpc-go calls a malformed status) with the raw text in its details.
 */
export function statusOfHeaders(headers: http2.IncomingHttpHeaders): CallStatus | undefined {
  const raw = headers["grpc-status"];
  if (raw === undefined) return undefined;
  const h = headers[HANDLING_METADATA_KEY];
  const handling = h === undefined ? undefined : [h].flat().map(String);
  const text = Array.isArray(raw) ? raw.join(",") : String(raw);
  if (!Array.isArray(raw) && CANONICAL_STATUS.test(text)) {
    return { code: Number(text), details: messageOf(headers["grpc-message"]), handling };
  }
  return { code: 13, details: malformed(text, headers["grpc-message"]), handling };
}

function malformed(text: string, message: unknown): string {
  return `malformed grpc-status ${JSON.stringify(text.slice(0, 40))} from the server${
    message ? ` (grpc-message: ${String(message).slice(0, 200)})` : ""
  }`;
}

/** gRPC codes for HTTP statuses, as the gRPC spec maps them (anything else: UNKNOWN). */
const FROM_HTTP: Record<number, number> = {
  400: 13,
  401: 16,
  403: 7,
  404: 12,
  429: 14,
  502: 14,
  503: 14,
  504: 14,
};

/** Whether a response's headers say it is a gRPC answer: HTTP 200, `application/grpc...`. */
export function isGrpcResponse(headers: http2.IncomingHttpHeaders): boolean {
  return Number(headers[":status"]) === 200 &&
    String(headers["content-type"] ?? "").startsWith("application/grpc");
}

/**
 * The status of a response that ended without a `grpc-status`, from its HTTP headers: a status
 * other than 200 as the gRPC spec maps it, a body that is not gRPC, or (200, gRPC) UNKNOWN as
 * grpc-js says it.
 */
export function statusOfHttp(headers: http2.IncomingHttpHeaders): CallStatus {
  const http = Number(headers[":status"]);
  const type = String(headers["content-type"] ?? "");
  if (http === 200 && !type.startsWith("application/grpc")) {
    return { code: 2, details: `Invalid content-type ${JSON.stringify(type.slice(0, 60))}` };
  }
  return { code: FROM_HTTP[http] ?? 2, details: `Received HTTP status code ${http}` };
}

/** What happened to the connection under a stream that closed without a status. */
export interface ConnectionFate {
  /** The connection was lost (closed, reset, failed). */
  dropped: boolean;
  /** The server sent GOAWAY on it. */
  goaway?: boolean;
}

/**
 * The status of a stream that closed without one: from its reset code (grpc-js's mapping and
 * words), UNAVAILABLE when the connection under it was lost or went away.
 */
export function statusOfReset(
  rstCode: number | undefined,
  fate: ConnectionFate,
  error?: string,
): CallStatus {
  const c = http2.constants;
  const why = error ? ` (${error})` : "";
  if (rstCode === c.NGHTTP2_REFUSED_STREAM) {
    return { code: 14, details: "Stream refused by server" };
  }
  if (fate.dropped) return { code: 14, details: `Connection dropped${why}` };
  if (fate.goaway && (rstCode === undefined || rstCode === c.NGHTTP2_CANCEL)) {
    return { code: 14, details: `the server went away (GOAWAY)${why}` };
  }
  switch (rstCode) {
    case c.NGHTTP2_CANCEL:
      return { code: 1, details: "Call cancelled" };
    case c.NGHTTP2_ENHANCE_YOUR_CALM:
      return { code: 8, details: "Bandwidth exhausted or memory limit exceeded" };
    case c.NGHTTP2_INADEQUATE_SECURITY:
      return { code: 7, details: "Protocol not secure enough" };
    case c.NGHTTP2_NO_ERROR:
    case undefined:
      return {
        code: 13,
        details: "Received RST_STREAM with code 0 (Call ended without gRPC status)",
      };
    case c.NGHTTP2_INTERNAL_ERROR:
      return {
        code: 13,
        details: `Received RST_STREAM with code ${rstCode} (Internal server error)${why}`,
      };
    default:
      return { code: 13, details: `Received RST_STREAM with code ${rstCode}${why}` };
  }
}

/**
 * Makes every stream grpc-js opens on `session` check its status first (trailers, or the
 * headers of a trailers-only response): a malformed one is rewritten to INTERNAL with the raw
 * text, before grpc-js adds its own listeners, which then run after.
 */
export function checkStatusesOf(session: http2.ClientHttp2Session): void {
  const request = session.request;
  const check = (headers: http2.IncomingHttpHeaders) => {
    const st = statusOfHeaders(headers);
    if (st?.code !== 13 || !/^malformed grpc-status/.test(st.details)) return;
    headers["grpc-status"] = "13";
    headers["grpc-message"] = encodeURIComponent(st.details);
  };
  session.request = function (this: http2.ClientHttp2Session, ...a: unknown[]) {
    const stream = (request as (...x: unknown[]) => http2.ClientHttp2Stream).apply(this, a);
    stream.on("response", check);
    stream.on("trailers", check);
    return stream;
  } as typeof session.request;
}
