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

/** One string naming tool, Deno and grpc-js versions. */
export function versionLine(tool: string): string {
  return `${tool} ${TOOL_VERSION} (deno ${Deno.version.deno}, grpc-js ${grpcJsVersion()})`;
}
