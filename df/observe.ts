/**
 * What df learns from the HTTP/2 server grpc-js makes for its connection injector: finished and
 * refused TLS handshakes, sessions ended by an HTTP/2 error, and whether each OK answer was
 * written. grpc-js keeps that server private; df listens on it.
 *
 * @module
 */
import type * as grpc from "@grpc/grpc-js";
import type * as http2 from "node:http2";
import type * as net from "node:net";
import type * as tls from "node:tls";
import { refusalReason } from "./causes.ts";
import { type Connections, keyOf, peerOf } from "./connections.ts";
import { countCall } from "./stats.ts";

/** The HTTP/2 server grpc-js made for `server`'s connection injector (the last one made). */
export function http2ServerOf(server: grpc.Server): http2.Http2Server {
  const servers = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> })
    .http2Servers;
  const h2Server = servers ? [...servers.keys()].at(-1) : undefined;
  if (!h2Server) throw new Error("grpc-js internals changed: cannot observe connections");
  return h2Server;
}

/** Follows `h2Server`'s handshakes, sessions and streams onto `conns` and its counters. */
export function observeConnections(
  h2Server: http2.Http2Server,
  conns: Connections,
  draining: () => boolean,
): void {
  const { stats } = conns;
  if (conns.handshakes) {
    h2Server.on("secureConnection", (socket: tls.TLSSocket) => {
      const c = conns.get(keyOf(socket.remoteAddress, socket.remotePort));
      if (!c) return;
      conns.settlePending(c);
      c.secure = true;
      c.tls = socket;
      c.lastActive = performance.now();
    });
    h2Server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      const raw = (socket as unknown as { _parent?: net.Socket })._parent ?? socket;
      const c = conns.get(keyOf(raw.remoteAddress, raw.remotePort)) ?? conns.withSocket(raw);
      // A failed handshake is no longer pending, though its socket may close only later.
      if (c) conns.settlePending(c);
      if (c?.reported) return;
      const reason = c?.closedCause ?? refusalReason(err.message, {
        // Node types it as an Error; Deno (like Node at run time) leaves the code string.
        authorizationError: String(socket.authorizationError ?? "") || undefined,
        bytesRead: raw.bytesRead,
      });
      if (c) c.reported = true;
      conns.refuse(c ?? { peer: peerOf(raw.remoteAddress, raw.remotePort) }, reason);
    });
  }
  h2Server.on("session", (session: http2.ServerHttp2Session) => {
    const s = session.socket;
    const c = conns.get(keyOf(s?.remoteAddress, s?.remotePort));
    if (!c) return;
    c.lastActive = performance.now();
    // A session ended by an HTTP/2 error (a flood nghttp2 stopped, a broken frame) is closed by
    // df's side: said and counted like every other connection df closes.
    session.on("error", (e: Error & { code?: string }) => {
      // A socket error (the client reset it) is the client's doing, not df's.
      if (draining() || !e.code?.startsWith("ERR_HTTP2")) return;
      conns.closeFor(c, `HTTP/2 error, the session was ended: ${e.message} (${e.code})`);
    });
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      c.active++;
      // An OK answer is the one grpc-js ends with stream.end() (errors are trailers-only); it
      // is written once its last DATA frame went out, when the stream asks for its trailers.
      // A window the client never opens, or a close first, leaves it unwritten: not OK.
      let answered = false;
      let written = false;
      const end = stream.end;
      stream.end = function (this: http2.ServerHttp2Stream, ...a: unknown[]) {
        answered = true;
        return (end as (...x: unknown[]) => http2.ServerHttp2Stream).apply(this, a);
      } as typeof stream.end;
      stream.once("wantTrailers", () => written = true);
      stream.once("close", () => {
        c.active--;
        c.lastActive = performance.now();
        if (!answered) return;
        if (written) countCall(stats, "OK");
        else stats.unwritten++;
      });
    });
  });
}
