/**
 * The certs task's files: a private temporary folder for the intermediates, and each output
 * installed with its final mode from its first byte (keys 0600, certificates 0644).
 *
 * @module
 */
import { CertsError, oneLine } from "./errors.ts";

/** Runs `fn` with a new private (0700) folder, removed afterwards whatever happens. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  // Deno creates it 0700, so intermediate keys are private too.
  const dir = await Deno.makeTempDir({ prefix: "smft-certs-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Creates `dir` (and its parents) if missing; refuses a path that is not a folder. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new CertsError(`cannot create folder ${dir}: ${oneLine(err)}`);
  }
  const info = await Deno.stat(dir);
  if (!info.isDirectory) throw new CertsError(`cannot use folder ${dir}: not a directory`);
}

/** Whether anything (a file, folder or link) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw new CertsError(`cannot check ${path}: ${oneLine(err)}`);
  }
}

/** Installs a private key, mode 0600. */
export function installKey(from: string, to: string): Promise<void> {
  return install(from, to, 0o600);
}

/** Installs a certificate, mode 0644. */
export function installCert(from: string, to: string): Promise<void> {
  return install(from, to, 0o644);
}

/**
 * Write a new file with its final mode from the first byte (no chmod afterwards), then rename
 * it over the target so a replaced key never passes through a wider mode.
 */
async function install(from: string, to: string, mode: number): Promise<void> {
  const data = await Deno.readFile(from);
  const part = `${to}.part-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(part, data, { mode, createNew: true });
    // A strict umask may narrow a certificate; widening public data afterwards is harmless.
    if (mode !== 0o600) await Deno.chmod(part, mode);
    await Deno.rename(part, to);
  } catch (err) {
    await Deno.remove(part).catch(() => {});
    throw new CertsError(`cannot write ${to}: ${oneLine(err)}`);
  }
}
