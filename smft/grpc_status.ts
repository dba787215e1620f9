/**
 * Checks every `grpc-status` a server sends before grpc-js reads it, and rewrites one that is not
 * a status code: grpc-js would take it as NaN or as OK.
 *
 * @module
 */
import type http2 from "node:http2";

/** `grpc-status` as the gRPC spec writes it: a decimal code from 0 to 16, nothing else. */
const CANONICAL_STATUS = /^(?:[0-9]|1[0-6])$/;

/**
 * A `grpc-status` the server sent that is not a code (`abc`, `0x0`, empty, `99`) would reach
 * grpc-js as NaN or as OK (`Number("0x0")` is 0); the status is rewritten, before grpc-js reads
 * it, to INTERNAL (13, as grpc-go calls a malformed status) with the raw text in its details.
 */
function checkStatus(headers: http2.IncomingHttpHeaders): void {
  const raw = headers["grpc-status"];
  if (raw === undefined) return;
  const text = Array.isArray(raw) ? raw.join(",") : String(raw);
  if (!Array.isArray(raw) && CANONICAL_STATUS.test(text)) return;
  const msg = headers["grpc-message"];
  const details = `malformed grpc-status ${JSON.stringify(text.slice(0, 40))} from the server${
    msg ? ` (grpc-message: ${String(msg).slice(0, 200)})` : ""
  }`;
  headers["grpc-status"] = "13";
  headers["grpc-message"] = encodeURIComponent(details);
}

/**
 * Makes every stream `session` opens check its status (trailers, or the headers of a
 * trailers-only response); called before grpc-js adds its own listeners, which then run after.
 */
export function checkStatusesOf(session: http2.ClientHttp2Session): void {
  const request = session.request;
  session.request = function (this: http2.ClientHttp2Session, ...a: unknown[]) {
    const stream = (request as (...x: unknown[]) => http2.ClientHttp2Stream).apply(this, a);
    stream.on("response", checkStatus);
    stream.on("trailers", checkStatus);
    return stream;
  } as typeof session.request;
}
