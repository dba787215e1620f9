/**
 * A small client of gRPC server reflection (`grpc.reflection.v1`, then `v1alpha`) over a
 * grpc-js channel smft opened (the same TLS as the run): asks for the file that defines a
 * service and the files it imports, and builds a protobufjs root from them.
 *
 * Written here rather than taken from npm: grpc-js-reflection-client works on Deno (measured
 * against df) but asks v1alpha only, opens its own channel and returns a protobufjs 8 root
 * (with lodash and google-protobuf); the protocol used here is four message types over one
 * bidirectional stream.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { Buffer } from "node:buffer";
import { ConfigError } from "./shared/layered_config.ts";

/** The reflection messages smft uses (field numbers as in `grpc/reflection/v1/reflection.proto`). */
const reflectionRoot = protobuf.Root.fromJSON({
  nested: {
    Req: {
      fields: {
        host: { type: "string", id: 1 },
        file_by_filename: { type: "string", id: 3 },
        file_containing_symbol: { type: "string", id: 4 },
        list_services: { type: "string", id: 7 },
      },
    },
    Res: {
      fields: {
        file_descriptor_response: { type: "Files", id: 4 },
        list_services_response: { type: "Services", id: 6 },
        error_response: { type: "Err", id: 7 },
      },
    },
    Files: { fields: { file_descriptor_proto: { rule: "repeated", type: "bytes", id: 1 } } },
    Services: { fields: { service: { rule: "repeated", type: "Name", id: 1 } } },
    Name: { fields: { name: { type: "string", id: 1 } } },
    Err: {
      fields: { error_code: { type: "int32", id: 1 }, error_message: { type: "string", id: 2 } },
    },
  },
});
const Req = reflectionRoot.lookupType("Req");
const Res = reflectionRoot.lookupType("Res");

interface ReqMsg {
  file_by_filename?: string;
  file_containing_symbol?: string;
  list_services?: string;
}
interface ResMsg {
  file_descriptor_response?: { file_descriptor_proto: Uint8Array[] };
  list_services_response?: { service: { name: string }[] };
  error_response?: { error_code: number; error_message: string };
}

/** The schema a server describes, and which version of the protocol answered. */
export interface Reflected {
  root: protobuf.Root;
  version: "v1" | "v1alpha";
}

/** Thrown for a failure of the stream itself (not an answer). */
class StreamError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** One request, one response, over an open reflection stream. */
class Conversation {
  #call: grpc.ClientDuplexStream<ReqMsg, ResMsg>;
  #waiting: { resolve: (r: ResMsg) => void; reject: (e: Error) => void }[] = [];
  #failed?: Error;

  constructor(client: grpc.Client, version: string, deadlineMs: number) {
    this.#call = client.makeBidiStreamRequest(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      (m: ReqMsg) => Buffer.from(Req.encode(Req.fromObject(m)).finish()),
      (b: Buffer) => Res.toObject(Res.decode(b), { defaults: false }) as ResMsg,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
    );
    this.#call.on("data", (r: ResMsg) => this.#waiting.shift()?.resolve(r));
    this.#call.on("error", (e: grpc.ServiceError) => {
      this.#failed = new StreamError(e.code, e.details || e.message);
      for (const w of this.#waiting.splice(0)) w.reject(this.#failed);
    });
  }

  ask(m: ReqMsg): Promise<ResMsg> {
    if (this.#failed) return Promise.reject(this.#failed);
    const p = new Promise<ResMsg>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#call.write(m);
    return p;
  }

  end(): void {
    this.#call.end();
    this.#call.cancel();
  }
}

/**
 * Asks the server for the schema of `service` (`package.Service`): v1, else v1alpha when the
 * server does not implement v1. A server without reflection gets a one-line error that
 * suggests `--proto`; a service it does not have, one that lists those it has.
 */
export async function reflectService(
  client: grpc.Client,
  service: string,
  deadlineMs: number,
): Promise<Reflected> {
  for (const version of ["v1", "v1alpha"] as const) {
    const talk = new Conversation(client, version, deadlineMs);
    try {
      return { root: await fetchSchema(talk, service), version };
    } catch (e) {
      if (e instanceof StreamError && e.code === grpc.status.UNIMPLEMENTED) continue;
      if (e instanceof StreamError) {
        throw new ConfigError(
          `--reflect: the server's reflection failed (${grpc.status[e.code]}: ${e.message}); ` +
            "give the schema with --proto FILE",
        );
      }
      throw e;
    } finally {
      talk.end();
    }
  }
  throw new ConfigError(
    "--reflect: the server does not offer reflection (grpc.reflection.v1 nor v1alpha " +
      "answered UNIMPLEMENTED); give the schema with --proto FILE",
  );
}

async function fetchSchema(talk: Conversation, service: string): Promise<protobuf.Root> {
  const files = new Map<string, Uint8Array>();
  const take = (r: ResMsg) => {
    for (const b of r.file_descriptor_response?.file_descriptor_proto ?? []) {
      const f = descriptor.FileDescriptorProto.decode(b) as unknown as { name: string };
      if (!files.has(f.name)) files.set(f.name, b);
    }
  };
  const first = await talk.ask({ file_containing_symbol: service });
  if (first.error_response) {
    const list = await talk.ask({ list_services: "" });
    const names = (list.list_services_response?.service ?? []).map((s) => s.name);
    throw new ConfigError(
      `--call: the server has no service ${service} (reflection: ${first.error_response.error_message}); ` +
        `its services: ${names.join(", ") || "none"}`,
    );
  }
  take(first);
  // Files the server did not send with the first answer (their imports), one by one.
  for (;;) {
    const missing = [...files.values()].flatMap((b) =>
      ((descriptor.FileDescriptorProto.decode(b) as unknown as { dependency?: string[] })
        .dependency ?? []).filter((d) => !files.has(d))
    );
    if (missing.length === 0) break;
    const r = await talk.ask({ file_by_filename: missing[0] });
    if (r.error_response) {
      throw new ConfigError(
        `--reflect: the server does not send ${missing[0]}, which its schema imports: ` +
          "give the schema with --proto FILE",
      );
    }
    const before = files.size;
    take(r);
    if (files.size === before) {
      throw new ConfigError(`--reflect: the server answered ${missing[0]} with another file`);
    }
  }
  const set = descriptor.FileDescriptorSet.create({
    file: [...files.values()].map((b) => descriptor.FileDescriptorProto.decode(b)),
  });
  const root = (protobuf.Root as unknown as { fromDescriptor(s: unknown): protobuf.Root })
    .fromDescriptor(set);
  restoreMaps(root);
  root.resolveAll();
  return root;
}

/**
 * protobufjs's `fromDescriptor` leaves a map field as what the descriptor encodes it as: a
 * repeated nested message `{ key = 1; value = 2; }` with the option `map_entry`. Such fields become map fields
 * again, so that a map's JSON (an object) is accepted as it is with `--proto`.
 */
function restoreMaps(ns: protobuf.NamespaceBase): void {
  for (const o of ns.nestedArray) {
    if (o instanceof protobuf.Type) {
      for (const f of [...o.fieldsArray]) {
        if (!f.repeated) continue;
        const entry = o.nested?.[f.type.split(".").pop()!];
        const key = entry instanceof protobuf.Type ? entry.fieldsById[1] : undefined;
        const value = entry instanceof protobuf.Type ? entry.fieldsById[2] : undefined;
        if (
          !(entry instanceof protobuf.Type) || entry.options?.map_entry !== true || !key ||
          !value || entry.fieldsArray.length !== 2
        ) continue;
        o.remove(f);
        o.add(new protobuf.MapField(f.name, f.id, key.type, value.type));
      }
    }
    if (o instanceof protobuf.Namespace) restoreMaps(o);
  }
}

/** The services a server lists through reflection v1 (for tests and error lines). */
export async function listServices(client: grpc.Client, deadlineMs: number): Promise<string[]> {
  const talk = new Conversation(client, "v1", deadlineMs);
  try {
    const r = await talk.ask({ list_services: "" });
    return (r.list_services_response?.service ?? []).map((s) => s.name);
  } finally {
    talk.end();
  }
}
