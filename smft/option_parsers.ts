/**
 * Parsers of smft's own option values (`--rps`, `--shard`, `--host`, `--start-at`, JSON text):
 * each reads the raw text of a flag or variable and throws a message saying what is expected.
 * The option table (`option_table.ts`) names them.
 *
 * @module
 */
import { isIP } from "node:net";
import type { Parser } from "./shared/layered_config.ts";

/** `--shard k/n`: this host is shard k (1-based) of n. */
export interface Shard {
  index: number;
  count: number;
}

export const rates: Parser<number[]> = (raw) => {
  const parts = raw.split(",").map((s) => s.trim());
  const out = parts.map((p) => Number(p));
  if (parts.some((p) => p === "") || out.some((n) => !Number.isFinite(n) || n <= 0 || n > 1e6)) {
    throw new Error(
      "expected a rate per second above 0 (or a comma-separated list, e.g. 500,1000)",
    );
  }
  return out;
};

export const shard: Parser<Shard> = (raw) => {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) {
    throw new Error("expected k/n with 1 <= k <= n, e.g. 1/2");
  }
  return { index, count };
};

/**
 * `--host`: a host name or an IP address, nothing else. A URL, a `host:port` or a path is refused
 * with what to do instead: grpc-js would otherwise read `127.0.0.1:41101` with `--port` as
 * `127.0.0.1:41101:41101` and time out after the connect timeout.
 */
export const hostName: Parser<string> = (raw) => {
  const h = raw.trim();
  if (h === "") throw new Error("expected a host name or an IP address, not an empty string");
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(h);
  if (scheme) {
    throw new Error(
      `expected a host name or an IP address, not a URL: drop "${scheme[1]}://"` +
        " (TLS is set by --tls-mode; the port by --port/DF_PORT)",
    );
  }
  const unbracketed = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  if (isIP(unbracketed)) return unbracketed;
  const hostPort = /^(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(h);
  if (hostPort) {
    throw new Error(
      `expected a host without a port: give the port with --port/DF_PORT (e.g. DF_HOST=${
        hostPort[1]
      } DF_PORT=${hostPort[2]})`,
    );
  }
  if (
    h.length > 253 ||
    !/^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i
      .test(h)
  ) {
    throw new Error(
      "expected a host name (letters, digits, '-', '.') or an IP address, e.g. df.example or 10.0.0.5",
    );
  }
  return h;
};

/**
 * An ISO 8601 date and time as `--start-at` takes it: `Date.parse` alone reads almost anything
 * (`-1` is 2001-01-01, `5` is 2001-05-01), so the form is checked first.
 */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** `--start-at`: epoch milliseconds or an ISO 8601 time. */
export const startAt: Parser<number> = (raw) => {
  const v = raw.trim();
  const t = /^\d+$/.test(v) ? Number(v) : ISO_TIME.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) {
    throw new Error("expected epoch milliseconds or an ISO time, e.g. 2026-11-25T10:00:00Z");
  }
  return t;
};

/** A JSON text, kept as given (it is encoded once, later). */
export function jsonText(raw: string): string {
  try {
    JSON.parse(raw);
  } catch {
    throw new Error("expected valid JSON");
  }
  return raw;
}
