/**
 * The load generator alone (`steady`, `coldconn`), without the tools: what the tests start.
 * The tasks and the compiled `./smft` enter through `tools/main.ts`, which adds the tools (and
 * the report `steady --find-capacity` ends with).
 *
 * @module
 */
import { smftMain } from "./cli.ts";

await smftMain(Deno.args);
