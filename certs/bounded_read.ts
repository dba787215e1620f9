/**
 * Reading a file named by the user, bounded: only a regular file (never a device, FIFO or
 * socket, which may never end: `/dev/zero`), and at most `maxBytes`. Here because `certs/` is
 * the leaf every program may import: df and smft read certificates and keys with it, smft its
 * payload file.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** Why a file was not read, in words for a one-line error (after its setting and path). */
export class BoundedReadError extends Error {
  override name = "BoundedReadError";
}

/** `4194304` -> `4,194,304 bytes (4.0 MiB)`. */
export function describeBytes(n: number): string {
  const unit = n >= 1024 * 1024
    ? `${(n / 1024 / 1024).toFixed(1)} MiB`
    : `${(n / 1024).toFixed(1)} KiB`;
  return `${n.toLocaleString("en-US")} bytes (${unit})`;
}

/**
 * The contents of the regular file `path`, refused when it is not one or when it holds more than
 * `maxBytes` ({@link BoundedReadError}, saying the size and the limit). Errors of the file
 * system (not found, permission) are thrown as they are.
 */
export function readBoundedFile(path: string, maxBytes: number): Buffer {
  const info = Deno.statSync(path);
  if (!info.isFile) {
    throw new BoundedReadError(
      `not a regular file (${info.isDirectory ? "a folder" : "a device, FIFO or socket"})`,
    );
  }
  if (info.size > maxBytes) {
    throw new BoundedReadError(
      `${describeBytes(info.size)}, over the limit of ${describeBytes(maxBytes)}`,
    );
  }
  const f = Deno.openSync(path, { read: true });
  try {
    // Read at most one byte past the limit: a file that grew since its stat is still bounded.
    const buf = new Uint8Array(Math.min(maxBytes, info.size) + 1);
    let n = 0;
    while (n < buf.length) {
      const got = f.readSync(buf.subarray(n));
      if (got === null || got === 0) break;
      n += got;
    }
    if (n > maxBytes) {
      throw new BoundedReadError(`over the limit of ${describeBytes(maxBytes)} (it grew)`);
    }
    return Buffer.from(buf.buffer, 0, n);
  } finally {
    f.close();
  }
}
