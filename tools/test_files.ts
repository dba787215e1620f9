/**
 * Test support for the tools: results files written into a fresh temporary folder.
 *
 * @module
 */

/** Runs `fn` with `files` written into a fresh temporary folder, then removes it. */
export async function withFiles(
  files: Record<string, string>,
  fn: (path: (name: string) => string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tools_test_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn((name) => `${dir}/${name}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Lines joined into a file's text, with the final newline. */
export const lines = (...l: string[]): string => l.join("\n") + "\n";
