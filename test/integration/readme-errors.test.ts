// The README's table of errors and exit codes, row by row against the binary: every row with an example
// is run in the situation the README describes (network n1 with container x1 publishing 8080, network
// broken naming a plugin that is not installed), and must exit as the row says with the words it gives.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Installation, privileged } from "./lifecycle-helpers.ts";
import { cliWith } from "./reliability-helpers.ts";

interface Row {
  what: string;
  args: string[];
  exit: number;
  /** Every code span of the stderr column; empty: nothing on stderr. */
  stderr: string[];
}

/** Words as a shell splits them, for the examples' simple quoting; `\n` typed in an example is a newline. */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push((m[1] ?? m[2] ?? m[3]!).replaceAll("\\n", "\n"));
  return out;
}

function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

function tableRows(): Row[] {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Errors and exit codes"), readme.indexOf("Signals and `run`:"));
  return section
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| what"))
    .flatMap((line) => {
      const cells = line.slice(2, -2).split(" | ");
      const example = codeSpans(cells[1] ?? "")[0];
      if (!example?.startsWith("ctrnet ")) return [];
      return [{ what: cells[0]!, args: words(example).slice(1), exit: Number(cells[2]), stderr: cells[3] === "nothing" ? [] : codeSpans(cells[3]!) }];
    });
}

describe.skipIf(!privileged)("the README's table of errors", () => {
  let inst: Installation;
  const rows = tableRows();

  beforeAll(() => {
    inst = new Installation();
    // named as in the README: a bridge of its own, so n1 is no name another test file's network could hold
    inst.ok(["network", "create", "--interface-name", `rdb${process.pid % 100000}`, "--subnet", "10.211.0.0/24", "n1"]);
    writeFileSync(
      join(inst.env.CTRNET_CNI_CONFIG_DIR!, "broken.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "broken", plugins: [{ type: "nosuchplugin" }] }),
    );
    inst.ok(["create", "--network", "n1", "-p", "8080:80", "x1"]);
  });

  afterAll(() => {
    inst.removeAll();
    inst.ok(["network", "rm", "n1"]);
    inst.expectClean();
    inst.dispose();
  });

  test("has rows with examples", () => {
    expect(rows.length).toBeGreaterThan(15);
  });

  for (const row of rows) {
    test(`${row.what}: ctrnet ${row.args.join(" ").replaceAll("\n", "\\n")} exits ${row.exit}`, () => {
      const r = cliWith(inst, row.args);
      expect({ exit: r.code, lines: r.stderr === "" ? 0 : r.stderr.trimEnd().split("\n").length }).toEqual({ exit: row.exit, lines: row.stderr.length ? 1 : 0 });
      for (const words of row.stderr) expect(r.stderr).toContain(words);
      // nothing half-made: the records are the two of the set-up, still as they were
      const ls = JSON.parse(cliWith(inst, ["ls", "--format", "json"]).stdout) as { id: string; state: string }[];
      expect(ls.map((c) => `${c.id} ${c.state}`)).toEqual(["x1 ready"]);
    });
  }
});
