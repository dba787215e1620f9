/**
 * Any unary method: its schema (from `.proto` files or the server's reflection, `reflection.ts`),
 * the request encoded once from canonical protobuf JSON, and the metadata sent with every call.
 * Without `--call`, the method is df's `score.ScoreService/GetScore` ({@link defaultMethod}), as
 * it always was (`unary_method.ts`). {@link resolveMethod} settles a run's method before the run.
 *
 * Pure apart from reading the files it is given and, under `--reflect`, asking the server;
 * errors are one line ({@link ConfigError}).
 *
 * @module
 */
import protobuf from "protobufjs";
import { Buffer } from "node:buffer";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "./shared/layered_config.ts";
import { connectForRun, openChannel, type Target } from "./channel.ts";
import { reflectService } from "./reflection.ts";
import type { CommonConfig } from "./settings.ts";
import { defaultMethod, type UnaryMethod } from "./unary_method.ts";

/** `package.Service/Method` split (a leading `/` is allowed). */
export function parseCall(raw: string): { service: string; method: string } {
  const m = /^\/?([A-Za-z_][\w.]*)\/([A-Za-z_]\w*)$/.exec(raw.trim());
  if (!m) {
    throw new ConfigError(
      `--call ${
        JSON.stringify(raw)
      }: expected package.Service/Method, e.g. score.ScoreService/GetScore`,
    );
  }
  return { service: m[1], method: m[2] };
}

/** Loads `.proto` files (imports searched in `importPaths`, then beside the file) into a root. */
export function loadProtoFiles(files: string[], importPaths: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    for (const dir of importPaths) {
      const p = resolve(dir, target);
      if (existsSync(p)) return p;
    }
    return protobuf.util.path.resolve(origin, target);
  };
  for (const f of files) {
    if (!existsSync(f)) throw new ConfigError(`--proto ${f}: file not found`);
  }
  try {
    root.loadSync(files.map((f) => resolve(f)), { keepCase: true });
    root.resolveAll();
  } catch (e) {
    throw new ConfigError(`--proto ${files.join(",")}: ${oneLine((e as Error).message)}`);
  }
  return root;
}

/** The service names of a root, for error lines. */
function serviceNames(root: protobuf.NamespaceBase): string[] {
  const out: string[] = [];
  for (const o of root.nestedArray) {
    if (o instanceof protobuf.Service) out.push(o.fullName.slice(1));
    else if (o instanceof protobuf.Namespace) out.push(...serviceNames(o));
  }
  return out;
}

/** The unary method `service/method` of `root`, or a one-line reason why not. */
export function findMethod(
  root: protobuf.Root,
  call: string,
  where: string,
): { method: protobuf.Method; request: protobuf.Type } {
  const { service, method } = parseCall(call);
  const svc = root.lookup(service);
  if (!(svc instanceof protobuf.Service)) {
    const all = serviceNames(root);
    throw new ConfigError(
      `--call ${call}: no service ${service} in ${where}; its services: ${
        all.length ? all.join(", ") : "none"
      }`,
    );
  }
  const m = svc.methods[method];
  if (!m) {
    throw new ConfigError(
      `--call ${call}: ${service} has no method ${method}; its methods: ${
        Object.keys(svc.methods).join(", ")
      }`,
    );
  }
  if (m.requestStream || m.responseStream) {
    const kind = m.requestStream && m.responseStream
      ? "bidirectional streaming"
      : m.requestStream
      ? "client streaming"
      : "server streaming";
    throw new ConfigError(
      `--call ${call}: a ${kind} method; smft measures unary calls only (one request, one response)`,
    );
  }
  m.resolve();
  return { method: m, request: m.resolvedRequestType! };
}

/**
 * The request encoded from canonical protobuf JSON (field names as in the `.proto` or
 * lowerCamelCase, enums by name or number, 64-bit integers as numbers or strings, maps, nested
 * and repeated messages, bytes as base64); a field the message lacks names the message and its
 * fields.
 */
export function encodeRequest(type: protobuf.Type, json: string, label: string): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ConfigError(`${label}: not valid JSON`);
  }
  const plain = toPlain(type, value, label, "");
  return type.encode(type.fromObject(plain as Record<string, unknown>)).finish();
}

/** Decodes a request to canonical-ish JSON (enums by name, 64-bit as strings); for tests and df. */
export function decodeToObject(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), { enums: String, longs: String, bytes: String });
}

function fail(label: string, at: string, what: string): never {
  throw new ConfigError(`${label}: ${at ? `${at}: ` : ""}${what}`);
}

/** Checks JSON against a message type and renames fields to their `.proto` names. */
function toPlain(type: protobuf.Type, v: unknown, label: string, at: string): unknown {
  const name = type.fullName.slice(1);
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    fail(label, at, `expected a JSON object for message ${name}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, val] of Object.entries(v as Record<string, unknown>)) {
    const field = type.fields[key] ??
      type.fieldsArray.find((f) => protobuf.util.camelCase(f.name) === key);
    if (!field) {
      fail(
        label,
        at,
        `message ${name} has no field "${key}"; its fields: ${
          type.fieldsArray.map((f) => f.name).join(", ") || "none"
        }`,
      );
    }
    if (val === null) continue; // JSON null: the field's default
    const path = at ? `${at}.${field.name}` : field.name;
    field.resolve();
    if (field.map) {
      if (typeof val !== "object" || Array.isArray(val)) {
        fail(label, path, "expected a JSON object (a map)");
      }
      out[field.name] = Object.fromEntries(
        Object.entries(val as Record<string, unknown>).map(([k, x]) => [
          k,
          fieldValue(field, x, label, `${path}[${JSON.stringify(k)}]`),
        ]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(val)) fail(label, path, "expected a JSON array (a repeated field)");
      out[field.name] = val.map((x, i) => fieldValue(field, x, label, `${path}[${i}]`));
    } else {
      out[field.name] = fieldValue(field, val, label, path);
    }
  }
  return out;
}

const INT32 = new Set(["int32", "sint32", "sfixed32", "uint32", "fixed32"]);
const INT64 = new Set(["int64", "sint64", "sfixed64", "uint64", "fixed64"]);

/** One value of a field (an element, for repeated and map fields). */
function fieldValue(field: protobuf.Field, v: unknown, label: string, at: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return toPlain(t, v, label, at);
  if (t instanceof protobuf.Enum) {
    if (typeof v === "string" && v in t.values) return v;
    if (typeof v === "number" && Number.isInteger(v)) return v;
    fail(
      label,
      at,
      `${JSON.stringify(v)} is not a value of enum ${t.fullName.slice(1)}; its values: ${
        Object.keys(t.values).join(", ")
      }`,
    );
  }
  const type = field.type;
  const integer = (s: unknown) =>
    (typeof s === "number" && Number.isInteger(s)) || (typeof s === "string" && /^-?\d+$/.test(s));
  if (INT32.has(type)) {
    if (integer(v)) return Number(v);
    fail(label, at, `expected an integer (${type})`);
  }
  if (INT64.has(type)) {
    if (integer(v)) return typeof v === "number" ? String(v) : v;
    fail(label, at, `expected an integer or a string of digits (${type})`);
  }
  if (type === "double" || type === "float") {
    if (typeof v === "number") return v;
    if (typeof v === "string" && /^(NaN|-?Infinity|-?[\d.eE+-]+)$/.test(v)) return Number(v);
    fail(label, at, `expected a number (${type})`);
  }
  if (type === "bool") {
    if (typeof v === "boolean") return v;
    fail(label, at, "expected true or false (bool)");
  }
  if (type === "string") {
    if (typeof v === "string") return v;
    fail(label, at, "expected a string");
  }
  if (type === "bytes") {
    if (typeof v === "string") return Buffer.from(v, "base64");
    fail(label, at, "expected base64 text (bytes)");
  }
  return v;
}

/** Headers a gRPC call sets itself, or HTTP/2 forbids: never metadata. */
const RESERVED_HEADERS = new Set([
  "content-type",
  "te",
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
]);

/** `--metadata 'key: value'`: a lower-case key, `-bin` values in base64. */
export function parseMetadata(raw: string): [string, string] {
  const i = raw.indexOf(":");
  const key = (i < 0 ? "" : raw.slice(0, i)).trim().toLowerCase();
  const value = i < 0 ? "" : raw.slice(i + 1).trim();
  if (i < 0 || !/^[0-9a-z_.-]+$/.test(key)) {
    throw new ConfigError(
      `--metadata ${JSON.stringify(raw)}: expected 'key: value' with a key of a-z, 0-9, -, _, .`,
    );
  }
  if (key.startsWith("grpc-") || key.startsWith(":")) {
    throw new ConfigError(`--metadata ${key}: keys starting "grpc-" are reserved by gRPC`);
  }
  if (RESERVED_HEADERS.has(key)) {
    throw new ConfigError(`--metadata ${key}: a header gRPC sets itself, not metadata`);
  }
  if (key.endsWith("-bin") && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new ConfigError(`--metadata ${key}: a -bin key takes its value in base64`);
  }
  return [key, value];
}

/** The request for `--data` / `--data-file` (the file read here). */
export function requestJson(data: string | undefined, dataFile: string | undefined): {
  json: string;
  label: string;
} {
  if (data !== undefined && dataFile !== undefined) {
    throw new ConfigError("--data and --data-file both given: give the request once");
  }
  if (dataFile !== undefined) {
    try {
      return { json: readFileSync(dataFile, "utf8"), label: `--data-file ${dataFile}` };
    } catch (e) {
      throw new ConfigError(
        `--data-file ${dataFile}: cannot read (${
          (e as NodeJS.ErrnoException).code ?? (e as Error).message
        })`,
      );
    }
  }
  return { json: data ?? "{}", label: "--data" };
}

/** The method from a loaded schema: found, checked and its request encoded. */
function unaryMethod(
  root: protobuf.Root,
  o: { call: string; json: string; label: string; metadata: [string, string][]; schema: string },
): UnaryMethod {
  const { service, method } = parseCall(o.call);
  const { request } = findMethod(root, o.call, o.schema);
  return {
    path: `/${service}/${method}`,
    request: encodeRequest(request, o.json, o.label),
    metadata: o.metadata,
    schema: o.schema,
  };
}

/**
 * The method every call of the run makes, encoded before the run: from `--proto` files, or
 * from the server's reflection over a channel like the run's (same TLS); else df's GetScore.
 */
export async function resolveMethod(
  c: CommonConfig & { payload: string },
  target: Target,
  connectTimeoutMs: number,
): Promise<UnaryMethod> {
  const m = c.method;
  if (!m) return defaultMethod(c.payload, c.metadata);
  const made = (root: Parameters<typeof unaryMethod>[0], schema: string) =>
    unaryMethod(root, { ...m, metadata: c.metadata, schema });
  if (!m.reflect) return made(loadProtoFiles(m.proto, m.importPath), `proto:${m.proto.join(",")}`);
  const channel = openChannel(target);
  try {
    await connectForRun(channel, { target, connectTimeoutMs });
    const service = m.call.replace(/^\//, "").split("/")[0];
    const r = await reflectService(channel.client, service, connectTimeoutMs);
    return made(r.root, `reflection:${r.version}`);
  } finally {
    channel.client.close();
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}
