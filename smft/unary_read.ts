/**
 * Reads one unary gRPC response from an HTTP/2 stream and says how the call ended, once: the
 * status from the trailers (or a trailers-only response), else from the HTTP headers, else from
 * the reset or the connection's fate; OK without exactly one whole message is never OK.
 *
 * @module
 */
import http2 from "node:http2";
import { Buffer } from "node:buffer";
import {
  type CallStatus,
  type ConnectionFate,
  isGrpcResponse,
  statusOfHeaders,
  statusOfHttp,
  statusOfReset,
} from "./grpc_status.ts";
import { NO_MESSAGE } from "./results_format.ts";

/** The largest response message read, as grpc-js's default: larger ends RESOURCE_EXHAUSTED. */
const MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

const INTERNAL = 13;
const END_STREAM = http2.constants.NGHTTP2_FLAG_END_STREAM;

/**
 * Reads `stream`'s response and calls `settle` once its status is known (at the stream's close,
 * or at once when a frame is refused). `fate` is the connection's, read at the close.
 */
export function readUnary(
  stream: http2.ClientHttp2Stream,
  settle: (st: CallStatus) => void,
  fate: ConnectionFate,
): void {
  let headers: http2.IncomingHttpHeaders | undefined;
  let status: CallStatus | undefined;
  let messages = 0;
  /** Bytes of the current message still to come; -1 while its 5-byte prefix is incomplete. */
  let need = -1;
  let prefix: Buffer | undefined;
  /** A frame smft refuses (compressed, over the limit): the call's status, whatever follows. */
  let refused: CallStatus | undefined;
  let error: string | undefined;
  stream.on("response", (h, flags) => {
    headers = h;
    // Headers that end the stream are its trailers (trailers-only); a status in other headers
    // is not one.
    if (flags & END_STREAM) status = statusOfHeaders(h) ?? statusOfHttp(h);
  });
  stream.on("data", (chunk: Buffer) => {
    // A body that is not gRPC is not parsed (Deno may hand over data before the headers).
    if (refused || (headers && !isGrpcResponse(headers))) return;
    for (let at = 0; at < chunk.length;) {
      if (need < 0) {
        const part = chunk.subarray(at, at + 5 - (prefix?.length ?? 0));
        prefix = prefix ? Buffer.concat([prefix, part]) : part;
        at += part.length;
        if (prefix.length < 5) return;
        refused = refusal(prefix);
        if (refused) return void stream.close(http2.constants.NGHTTP2_CANCEL);
        messages++;
        need = prefix.readUInt32BE(1);
        prefix = undefined;
      }
      const take = Math.min(need, chunk.length - at);
      at += take;
      need -= take;
      if (need === 0) need = -1;
    }
  });
  stream.on("trailers", (h) => {
    status = statusOfHeaders(h) ?? (headers ? statusOfHttp(headers) : statusOfHttp(h));
  });
  stream.on("error", (e: Error) => error ??= e.message);
  stream.on("close", () => {
    // A body that is not gRPC says nothing; its HTTP status does (its data may have come first).
    const notGrpc = headers !== undefined && !isGrpcResponse(headers);
    if (refused) return settle(notGrpc ? statusOfHttp(headers!) : refused);
    if (!status) {
      return settle(notGrpc ? statusOfHttp(headers!) : statusOfReset(stream.rstCode, fate, error));
    }
    if (status.code !== 0) return settle(status);
    if (messages === 0) return settle({ ...status, code: INTERNAL, details: NO_MESSAGE });
    if (messages > 1) {
      return settle({
        ...status,
        code: INTERNAL,
        details: `${messages} response messages to a unary call`,
      });
    }
    if (need >= 0 || prefix) {
      return settle({ ...status, code: INTERNAL, details: "the response ended inside a message" });
    }
    settle(status);
  });
}

/** Why a message's 5-byte prefix is refused, or undefined (pure). */
function refusal(prefix: Buffer): CallStatus | undefined {
  if (prefix[0] !== 0) {
    return { code: INTERNAL, details: "a compressed response, but no compression was asked" };
  }
  const len = prefix.readUInt32BE(1);
  if (len > MAX_RECEIVE_BYTES) {
    return {
      code: 8,
      details: `Received message larger than max (${len} vs. ${MAX_RECEIVE_BYTES})`,
    };
  }
  return undefined;
}
