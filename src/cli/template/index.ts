// `--format` as podman reads it (containers/common pkg/report): `json` (or `{{json .}}`) for JSON, a Go
// template run once per item, or `table …`: the same with a header row and columns aligned by tabwriter.
import { UsageError } from "../../errors.ts";
import { execute } from "./exec.ts";
import { type Node, parseTemplate, TemplateError } from "./parse.ts";
import { tabwrite } from "./tabwriter.ts";

export { fromJson, nilMap, nilSlice, type Shape, stringer, struct } from "./value.ts";
export { goJson } from "./funcs.ts";

const JSON_FORMAT = /^\s*(json|\{\{\s*json\s*(\.)?\s*\}\})\s*$/;
const HAS_RANGE = /\{\{\s*range\s*\.\s*\}\}[\s\S]*\{\{\s*end\s*-?\s*\}\}/;

export function isJsonFormat(format: string): boolean {
  return JSON_FORMAT.test(format);
}

export function isTableFormat(format: string): boolean {
  return format.startsWith("table ");
}

interface Normalized {
  text: string;
  /** origin[i]: where text[i] came from in the format as given */
  origin: number[];
}

/**
 * podman's NormalizeFormat: `\t` and `\n` typed on a command line become a tab and a newline (a `table`
 * format's spaces become tabs too), and a newline ends the template. ctrnet does this outside actions
 * only, so a string argument (`join .X ", "`) keeps its spaces.
 */
function normalize(format: string): Normalized {
  const table = isTableFormat(format);
  const start = table ? "table ".length : 0;
  let text = "";
  const origin: number[] = [];
  let inAction = false;
  for (let i = start; i < format.length; i++) {
    if (!inAction && format.startsWith("{{", i)) inAction = true;
    else if (inAction && format.startsWith("}}", i)) {
      text += "}}";
      origin.push(i, i + 1);
      i++;
      inAction = false;
      continue;
    }
    let out = format[i]!;
    if (!inAction && format[i] === "\\" && (format[i + 1] === "t" || format[i + 1] === "n")) out = format[++i] === "t" ? "\t" : "\n";
    else if (!inAction && table && out === " ") out = "\t";
    text += out;
    origin.push(i);
  }
  if (!text.endsWith("\n")) {
    text += "\n";
    origin.push(format.length);
  }
  return { text, origin };
}

function usageError(format: string, norm: Normalized, err: TemplateError): UsageError {
  const at = norm.origin[err.pos] ?? format.length;
  const before = format.slice(0, at).split("\n");
  return new UsageError(`invalid --format ${JSON.stringify(format)}: ${before.length}:${before.at(-1)!.length + 1}: ${err.detail}`);
}

function compile(format: string, wrapInRange: boolean): { nodes: Node[]; norm: Normalized } {
  const norm = normalize(format);
  try {
    const nodes = parseTemplate(norm.text);
    const ranged = wrapInRange || !HAS_RANGE.test(norm.text);
    const dot = { pos: 0, variables: [], assign: false, commands: [{ pos: 0, args: [{ kind: "dot" as const, pos: 0 }] }] };
    return { nodes: ranged ? [{ kind: "range", pos: 0, pipe: dot, list: nodes, elseList: [] }] : nodes, norm };
  } catch (err) {
    if (err instanceof TemplateError) throw usageError(format, norm, err);
    throw err;
  }
}

function run(format: string, nodes: Node[], norm: Normalized, data: unknown): string {
  try {
    return execute(nodes, data);
  } catch (err) {
    if (err instanceof TemplateError) throw usageError(format, norm, err);
    throw err;
  }
}

/** podman's report.Headers: a field's column header is its name split at case changes, upper-cased. */
export function columnHeaders(fields: readonly string[], overrides: Record<string, string> = {}): Map<string, string> {
  return new Map(fields.map((f) => [f, (overrides[f] ?? splitCamelCase(f).join(" ")).toUpperCase()]));
}

/** containers/common's camelcase.Split: runs of lower, upper, digit, other; an upper run gives its last letter to a lower run after it. */
export function splitCamelCase(name: string): string[] {
  const classOf = (c: string) => (/\p{Ll}/u.test(c) ? 1 : /\p{Lu}/u.test(c) ? 2 : /\p{Nd}/u.test(c) ? 3 : 4);
  const runs: string[][] = [];
  let last = 0;
  for (const c of name) {
    const cls = classOf(c);
    if (cls === last) runs[runs.length - 1]!.push(c);
    else runs.push([c]);
    last = cls;
  }
  for (let i = 0; i < runs.length - 1; i++) {
    if (classOf(runs[i]![0]!) === 2 && classOf(runs[i + 1]![0]!) === 1) runs[i + 1]!.unshift(runs[i]!.pop()!);
  }
  return runs.filter((r) => r.length > 0).map((r) => r.join(""));
}

export interface ListFormat {
  /** column headers for a `table` format, by field name */
  headers: Map<string, string>;
  noHeading?: boolean;
}

/** A list command's user template: each item through it; `table` adds the header row and aligns columns. */
export function renderList(format: string, items: readonly unknown[], opts: ListFormat): string {
  const table = isTableFormat(format);
  const { nodes, norm } = compile(format, table);
  let out = "";
  if (table && !opts.noHeading) out += run(format, nodes, norm, [opts.headers]);
  out += run(format, nodes, norm, items);
  return table ? tabwrite(out) : out;
}

/** An inspect command's template: each object through it, as it prints (podman 4's inspect aligns nothing). */
export function renderInspect(format: string, items: readonly unknown[]): string {
  const { nodes, norm } = compile(format, false);
  return run(format, nodes, norm, items);
}
