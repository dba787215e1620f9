/**
 * The method a run calls, once resolved (`method.ts` resolves it from `.proto` files or
 * reflection): what every call sends, and df's GetScore when no `--call` is given. Light on
 * purpose: each `--connections` worker imports it, and only `method.ts` needs protobufjs.
 *
 * @module
 */
import { encodeJsonVector, GET_SCORE_PATH } from "../proto/score.ts";

/** The method a run calls, with everything encoded before the run. */
export interface UnaryMethod {
  /** `/package.Service/Method`, as it travels in `:path`. */
  path: string;
  /** The request, encoded once. Crosses to worker threads as a Uint8Array. */
  request: Uint8Array;
  /** `key: value` pairs sent with every call; `-bin` values are base64 text here. */
  metadata: [string, string][];
  /** Where the schema came from, for `#META`: `proto:a.proto,b.proto` or `reflection:v1`. */
  schema: string;
}

/** df's GetScore with the JSON vector `payload`: the method when no `--call` is given. */
export function defaultMethod(payload: string, metadata: [string, string][] = []): UnaryMethod {
  return {
    path: GET_SCORE_PATH,
    request: encodeJsonVector(payload),
    metadata,
    schema: "built-in proto/score.proto",
  };
}

/** The method a run calls: `run.method`, else df's GetScore with `run.payload` (no metadata). */
export function methodOf(run: { method?: UnaryMethod; payload: string }): UnaryMethod {
  return run.method ?? defaultMethod(run.payload);
}
