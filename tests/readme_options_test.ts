/**
 * The option tables in smft's and df's READMEs are written by hand; these tests hold them to the
 * option tables the programs resolve and print `--help` from (`smft/option_table.ts`,
 * `df/options.ts`): every option listed, with the same flag, placeholder, variable and default,
 * and no row for an option that does not exist.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./helpers.ts";
import { OPTIONS } from "../smft/option_table.ts";
import { DF_OPTIONS } from "../df/options.ts";
import { type OptionDef, shownDefault } from "../smft/shared/layered_config.ts";

/** One row of a README option table, its cells as written. */
interface Row {
  flag: string;
  meta?: string;
  variable: string;
  dflt: string;
}

/** Every row of every `| flag | variable | default | meaning |` table in `markdown`. */
function optionRows(markdown: string): Row[][] {
  const tables: Row[][] = [];
  let rows: Row[] | undefined;
  for (const line of markdown.split("\n")) {
    if (/^\|\s*flag\s*\|\s*variable\s*\|\s*default\s*\|/.test(line)) {
      rows = [];
      tables.push(rows);
      continue;
    }
    if (!rows) continue;
    if (!line.startsWith("|")) {
      rows = undefined;
      continue;
    }
    if (/^\|\s*-+\s*\|/.test(line)) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const m = /^`--([\w-]+)(?: (<[^`]+>))?`$/.exec(cells[0]);
    assert.ok(m, `a flag cell of the form \`--name <meta>\`: ${cells[0]}`);
    rows.push({ flag: m[1], meta: m[2], variable: cells[1], dflt: cells[2] });
  }
  return tables;
}

/** A cell's value for one command: `A; coldconn B` gives B for coldconn, A otherwise. */
function forCommand(cell: string, cmd: string): string {
  const [all, ...variants] = cell.split(/;\s*/);
  for (const v of variants) {
    if (v.startsWith(`${cmd} `)) return v.slice(cmd.length + 1);
  }
  return all;
}

/**
 * What is wrong with a README row against an option definition, or nothing. A default cell is a
 * literal in backticks (the shown default, or the help text's `(default X)` for one computed
 * elsewhere), `off` for a flag that takes no value, empty for none, `below` for one given in
 * `afterTable`, or words for one computed when the option is not given.
 */
function rowProblems(
  row: Row,
  cmd: string,
  d: OptionDef,
  afterTable: string,
  checkMeta: boolean,
): string[] {
  const where = `${cmd} --${row.flag}`;
  const out: string[] = [];
  const variable = forCommand(row.variable, cmd);
  const env = d.env === undefined ? "" : `\`${d.env}\``;
  if (variable !== env) out.push(`${where}: variable ${variable || "none"}, the table has ${env}`);
  const meta = d.boolean ? undefined : d.meta ?? "<value>";
  if (checkMeta && row.meta !== meta) {
    out.push(`${where}: placeholder ${row.meta}, the table has ${meta}`);
  }
  const cell = forCommand(row.dflt, cmd);
  const shown = shownDefault(d);
  const literal = /^`([^`]*)`$/.exec(cell)?.[1];
  if (literal !== undefined) {
    const fromHelp = /\(default ([^)]+)\)/.exec(d.help)?.[1];
    if (literal !== (shown ?? fromHelp)) {
      out.push(`${where}: default \`${literal}\`, the table has ${shown ?? fromHelp ?? "none"}`);
    }
  } else if (cell === "off") {
    if (!d.boolean || d.default !== false) out.push(`${where}: default off for a valued option`);
  } else if (cell === "below") {
    if (shown === undefined || !afterTable.includes(`\`${shown}\``)) {
      out.push(`${where}: default "below", but \`${shown}\` is not given after the table`);
    }
  } else if (cell === "") {
    if (shown !== undefined) out.push(`${where}: no default given, the table has ${shown}`);
  } else if (shown !== undefined) {
    out.push(`${where}: default "${cell}" in words, the table has ${shown}`);
  }
  return out;
}

/**
 * Problems of `rows` against the options of one command, keyed by flag. `checkMeta: false` for
 * the second command of a shared table, whose flag cells show the first one's placeholders.
 */
function tableProblems(
  rows: Row[],
  cmd: string,
  defs: Record<string, OptionDef>,
  afterTable: string,
  checkMeta = true,
): string[] {
  const byFlag = new Map(Object.values(defs).map((d) => [d.flag, d]));
  const out: string[] = [];
  for (const row of rows) {
    if (row.flag === "env-file") continue; // every command takes it (layered_config.ts)
    const d = byFlag.get(row.flag);
    if (!d) out.push(`${cmd}: README row --${row.flag} is no option`);
    else out.push(...rowProblems(row, cmd, d, afterTable, checkMeta));
  }
  return out;
}

const read = (path: string) => Deno.readTextFileSync(join(ROOT, path));

Deno.test("smft/README.md's option tables agree with smft's option tables", () => {
  const readme = read("smft/README.md");
  const tables = optionRows(readme);
  assert.equal(tables.length, 2, "the table of both tests and steady's own");
  const [both, steadyOnly] = tables;
  const after = readme.slice(readme.indexOf("| flag"));
  const problems = [
    ...tableProblems(both, "steady", OPTIONS.steady, after),
    ...tableProblems(both, "coldconn", OPTIONS.coldconn, after, false),
    ...tableProblems(steadyOnly, "steady", OPTIONS.steady, after),
  ];
  const listed = new Set([...both, ...steadyOnly].map((r) => r.flag));
  for (const d of Object.values(OPTIONS.steady)) {
    if (!listed.has(d.flag)) problems.push(`steady --${d.flag} is in no README table`);
  }
  // coldconn's own options are a paragraph: `--flag <meta>` (`VARIABLE`[, default X]).
  const coldOwn = after.slice(after.indexOf("`coldconn` only:"));
  for (const d of Object.values(OPTIONS.coldconn)) {
    if (both.some((r) => r.flag === d.flag)) continue;
    const shown = shownDefault(d);
    const said = `\`--${d.flag} ${d.meta}\` (\`${d.env}\`${shown ? `, default ${shown}` : ""}`;
    if (!coldOwn.includes(said)) problems.push(`coldconn --${d.flag}: README does not say ${said}`);
  }
  assert.deepEqual(problems, []);
});

Deno.test("df/README.md's option table agrees with df's option table", () => {
  const readme = read("df/README.md");
  const tables = optionRows(readme);
  assert.equal(tables.length, 1);
  const defs = DF_OPTIONS as Record<string, OptionDef>;
  const problems = tableProblems(tables[0], "df", defs, "");
  const listed = new Set(tables[0].map((r) => r.flag));
  for (const d of Object.values(defs)) {
    if (!listed.has(d.flag)) problems.push(`df --${d.flag} is in no README table`);
  }
  assert.deepEqual(problems, []);
});
