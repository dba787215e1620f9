/**
 * Versions printed at start-up and written into results files.
 *
 * @module
 */

/** This suite's version; `--version` prints it. */
export const TOOL_VERSION = "0.1.0";

/** The Deno versions whose `node:http2` server aborts when a busy client closes (deno#36788). */
export const HTTP2_ABORT_VERSIONS = ["2.9.4", "2.9.5", "2.9.6"];

/** The grpc-js version actually loaded (from its resolved path, which names the version). */
export function grpcJsVersion(): string {
  const m = /@grpc[/+]grpc-js[@/]([0-9][^/]*)\//.exec(import.meta.resolve("@grpc/grpc-js"));
  return m?.[1] ?? "unknown";
}

/**
 * The gRPC client steady's calls and coldconn's attempts go through: smft's own, on Deno's
 * `node:http2` (`h2_channel.ts`).
 */
export const SMFT_CLIENT = "node:http2";

/**
 * One string naming tool, Deno and the gRPC library: grpc-js, or `client` when the calls go
 * through another (steady's own).
 */
export function versionLine(tool: string, client?: string): string {
  const lib = client ? `client ${client}` : `grpc-js ${grpcJsVersion()}`;
  return `${tool} ${TOOL_VERSION} (deno ${Deno.version.deno}, ${lib})`;
}
