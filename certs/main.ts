/**
 * CLI for the certs task: the only place that reads arguments and prints.
 * Errors are one line, `certs: <problem>`, on stderr with exit code 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CertsError, FILE_NAMES, generateCerts, MAX_DAYS, RSA_BITS } from "./generate.ts";

const USAGE = `Usage: deno task certs [options]

Makes a test CA (named "smft-latency-test-ca <date> <6 random hex digits>", unique), a server
certificate (CN localhost) and a client certificate (CN smft-client) with openssl:
ca.crt/ca.key, server.crt/server.key, client.crt/client.key.

Options:
  --out DIR      output folder, relative to the current directory (default: certs)
  --days N       validity in days, 1..${MAX_DAYS} (default: 365)
  --rsa BITS     RSA keys of ${RSA_BITS.join("|")} bits instead of ECDSA P-256
  --san NAME     extra server SAN: DNS:name, IP:addr or a bare name/address;
                 repeatable, comma separated lists accepted
                 (always present: DNS:localhost, IP:127.0.0.1, IP:::1)
  --force        replace existing files; without it, existing files are kept when
                 nothing new is asked, and refused (exit 1) when --san, --days
                 or --rsa asks for certificates the existing ones may not be
  -h, --help     show this help
`;

/** Run the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: "string", default: "certs" },
        days: { type: "string", default: "365" },
        rsa: { type: "string" },
        san: { type: "string", multiple: true, default: [] },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.out === "") throw new CertsError("--out must not be empty");
    const result = await generateCerts({
      out: values.out,
      days: parseWhole("--days", values.days),
      rsaBits: values.rsa === undefined ? undefined : parseWhole("--rsa", values.rsa),
      sans: values.san,
      force: values.force,
      // Asking for SANs, a validity or a key type is asking for certificates that have them:
      // kept files would silently lack them.
      explicit: values.san.length > 0 || args.some((a) => /^--(days|rsa)(=|$)/.test(a)),
    });
    if (!result.written) {
      console.log(
        `certs: kept existing files in ${values.out} (${result.existing.join(", ")}); ` +
          "--force replaces them",
      );
    } else {
      const key = values.rsa ? `RSA-${values.rsa}` : "ECDSA P-256";
      console.log(
        `certs: wrote ${Object.values(FILE_NAMES).join(", ")} to ${values.out} ` +
          `(${key}, ${values.days} days, server SANs ${result.sans.join(", ")})`,
      );
    }
    return 0;
  } catch (err) {
    console.error(`certs: ${describe(err)}`);
    return 1;
  }
}

function parseWhole(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new CertsError(`${flag} must be a whole number, got "${text}"`);
  return Number(text);
}

function describe(err: unknown): string {
  if (err instanceof CertsError) return err.message;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    return `${(err as Error).message.split(". ")[0]} (see --help)`;
  }
  // Anything else (e.g. a denied permission) still gets exactly one line.
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0];
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
