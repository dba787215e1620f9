import assert from "node:assert/strict";
import {
  admitConnection,
  type ConnectionState,
  connectionVerdict,
  DEFAULT_LIMITS,
  formatBytes,
  formatSeconds,
  handshakeToEvict,
} from "./limits.ts";

const conn = (over: Partial<ConnectionState> = {}): ConnectionState => ({
  acceptedAt: 0,
  secure: true,
  bytesRead: 100,
  active: 0,
  lastActive: 0,
  buffered: 0,
  ...over,
});

Deno.test("admitConnection() refuses at the total limit, then at the per-address limit", () => {
  const limits = { maxConnections: 10, maxConnectionsPerAddress: 3 };
  assert.equal(admitConnection({ total: 9, fromAddress: 2 }, limits), undefined);
  assert.match(admitConnection({ total: 10, fromAddress: 0 }, limits)!, /10 connections .*in all/);
  assert.match(admitConnection({ total: 5, fromAddress: 3 }, limits)!, /3 connections .*address/);
});

Deno.test("connectionVerdict() closes an unfinished handshake after the timeout and says whether it started", () => {
  const l = { ...DEFAULT_LIMITS, handshakeTimeoutMs: 1000 };
  assert.equal(connectionVerdict(conn({ secure: false }), 999, l), undefined);
  assert.equal(
    connectionVerdict(conn({ secure: false, bytesRead: 0 }), 1000, l),
    "no handshake started within 1 s",
  );
  assert.equal(
    connectionVerdict(conn({ secure: false, bytesRead: 40 }), 1500, l),
    "handshake timed out (not finished within 1 s)",
  );
});

Deno.test("connectionVerdict() closes a connection whose client leaves too many bytes unread", () => {
  const l = { ...DEFAULT_LIMITS, maxBufferedBytes: 1024 };
  assert.equal(connectionVerdict(conn({ buffered: 1024, active: 5 }), 0, l), undefined);
  assert.match(connectionVerdict(conn({ buffered: 1025, active: 5 }), 0, l)!, /does not read/);
});

Deno.test("connectionVerdict() closes an idle connection only when no call is in progress", () => {
  const l = { ...DEFAULT_LIMITS, idleTimeoutMs: 500 };
  assert.equal(connectionVerdict(conn({ active: 1, lastActive: 0 }), 10_000, l), undefined);
  assert.equal(connectionVerdict(conn({ lastActive: 100 }), 599, l), undefined);
  assert.equal(connectionVerdict(conn({ lastActive: 100 }), 600, l), "idle for 0.5 s");
  assert.equal(connectionVerdict(conn(), 1e9, { ...l, idleTimeoutMs: 0 }), undefined);
});

Deno.test("the default limits leave room for the seed's load and the fault tests", () => {
  assert.ok(DEFAULT_LIMITS.maxStreams >= 12 * 10, "2,000/s with a 5 ms hold: ~12 in flight");
  assert.ok(DEFAULT_LIMITS.maxConnectionsPerAddress > 551, "the fault tests open 551");
  assert.ok(DEFAULT_LIMITS.maxConnections >= DEFAULT_LIMITS.maxConnectionsPerAddress);
});

Deno.test("formatSeconds() and formatBytes() write short human units", () => {
  assert.equal(formatSeconds(10_000), "10 s");
  assert.equal(formatSeconds(250), "0.25 s");
  assert.equal(formatBytes(4 * 1024 * 1024), "4 MiB");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(12), "12 B");
});

Deno.test("admitConnection() gives unfinished handshakes their own budget per address", () => {
  const limits = { maxConnections: 100, maxConnectionsPerAddress: 50, maxHandshakesPerAddress: 4 };
  assert.equal(
    admitConnection({ total: 9, fromAddress: 9, handshakesFromAddress: 3 }, limits),
    undefined,
  );
  assert.match(
    admitConnection({ total: 9, fromAddress: 9, handshakesFromAddress: 4 }, limits)!,
    /4 unfinished handshakes from this address/,
  );
});

Deno.test("handshakeToEvict() names the address with the most unfinished handshakes", () => {
  assert.equal(handshakeToEvict(new Map([["a", 2], ["b", 5], ["c", 5]])), "b");
  assert.equal(handshakeToEvict(new Map()), undefined);
});
