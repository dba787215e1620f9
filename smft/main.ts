/**
 * smft's entry point for the tasks (`deno task steady`, `deno task coldconn`).
 *
 * @module
 */
import { smftMain } from "./cli.ts";

await smftMain(Deno.args);
