/**
 * The standard gRPC services df speaks beside GetScore, on the same server (so the same TLS 1.3
 * + mTLS and the same limits): `grpc.health.v1.Health` (Check and Watch; what Kubernetes' gRPC
 * probes and grpc_health_probe ask) and server reflection (v1 and v1alpha; what grpcurl and
 * `smft --reflect` ask).
 *
 * @module
 */
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { HealthImplementation, protoPath as healthProto } from "grpc-health-check";
import { ReflectionService } from "@grpc/reflection";
import { scorePackage } from "../proto/score.ts";

/** The services whose health df reports: the server as a whole ("") and GetScore's. */
const HEALTH_SERVICES = ["", "score.ScoreService"] as const;

/** Adds health and reflection to `server`; `draining()` flips every health status to NOT_SERVING. */
export function addStandardServices(server: grpc.Server): { draining: () => void } {
  const health = new HealthImplementation(
    Object.fromEntries(HEALTH_SERVICES.map((s) => [s, "SERVING" as const])),
  );
  health.addToServer(server);
  // Reflection describes GetScore and the health service (and itself).
  const healthPackage = protoLoader.loadSync(healthProto, { keepCase: true });
  const reflection = new ReflectionService(
    { ...scorePackage, ...healthPackage } as ConstructorParameters<typeof ReflectionService>[0],
  );
  reflection.addToServer(server);
  return {
    draining: () => {
      for (const s of HEALTH_SERVICES) health.setStatus(s, "NOT_SERVING");
    },
  };
}
