/**
 * The `score.ScoreService` contract, loaded once from `score.proto` for both df and smft.
 *
 * @module
 */
import * as protoLoader from "@grpc/proto-loader";
import type * as grpc from "@grpc/grpc-js";
import { fileURLToPath } from "node:url";

/** Path of the `.proto` file; embedded in compiled binaries with `--include proto/score.proto`. */
export const PROTO_PATH: string = fileURLToPath(new URL("./score.proto", import.meta.url));

/** Full method path, as it travels in the HTTP/2 `:path` header. */
export const GET_SCORE_PATH = "/score.ScoreService/GetScore";

/** Trailing metadata key carrying df's own handling time, in integer microseconds. */
export const HANDLING_METADATA_KEY = "df-handling-us";

/** Request message. */
export interface JsonVector {
  json: string;
}

/** Response message. */
export interface ScoreResponse {
  score: number;
}

const packageDefinition = protoLoader.loadSync(PROTO_PATH, {
  keepCase: true,
  defaults: true,
});

/** The whole package definition, for server reflection (df). */
export const scorePackage: protoLoader.PackageDefinition = packageDefinition;

/** Service definition for `grpc.Server.addService` and generic clients. */
export const scoreService = packageDefinition["score.ScoreService"] as grpc.ServiceDefinition;

const getScore = scoreService.GetScore as grpc.MethodDefinition<JsonVector, ScoreResponse>;

/** Encodes a request once, so the hot path sends the same bytes with no per-call objects. */
export function encodeJsonVector(json: string): Buffer {
  return getScore.requestSerialize({ json });
}

/** Encodes a response (used by df). */
export const encodeScoreResponse: (msg: ScoreResponse) => Buffer = getScore.responseSerialize;

/** Passes pre-encoded bytes through grpc-js untouched. */
export function passBytes(buf: Buffer): Buffer {
  return buf;
}
