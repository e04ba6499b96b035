// The functions a --format can call: Go text/template's builtins and the ones podman adds
// (containers/common pkg/report: join, json, lower, pad, split, title, truncate, upper).
import { compareKeys, formatFloat, formatValue, stringForm, toJson, truth, typeName } from "./value.ts";

/** A function's failure; the evaluator adds the position. */
export class FuncError extends Error {}

export type LazyArg = () => unknown;

function arity(name: string, args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new FuncError(`wrong number of args for ${name}: want ${want} got ${args.length}`);
  }
}

function str(name: string, value: unknown): string {
  if (typeof value !== "string") throw new FuncError(`${name}: expected a string, got ${typeName(value)} ${formatValue(value)}`);
  return value;
}

function int(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new FuncError(`${name}: expected an integer, got ${typeName(value)} ${formatValue(value)}`);
  return value;
}

function length(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value);
  if (Array.isArray(value)) return value.length;
  if (value instanceof Map) return value.size;
  throw new FuncError(`len of type ${typeName(value)}`);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let current = item;
  for (const key of keys) {
    if (typeof current === "string") {
      // a Go string indexes to its bytes
      const bytes = Buffer.from(current);
      const i = int("index", key);
      if (i < 0 || i >= bytes.length) throw new FuncError(`index out of range: ${i}`);
      current = bytes[i];
    } else if (Array.isArray(current)) {
      const i = int("index", key);
      if (i < 0 || i >= current.length) throw new FuncError(`index out of range: ${i}`);
      current = current[i];
    } else if (current instanceof Map) {
      current = current.get(key);
    } else {
      throw new FuncError(`can't index item of type ${typeName(current)}`);
    }
  }
  return current;
}

function slice(item: unknown, ...bounds: unknown[]): unknown {
  if (!Array.isArray(item) && typeof item !== "string") throw new FuncError(`can't slice item of type ${typeName(item)}`);
  if (bounds.length > 2) throw new FuncError("too many slice indexes");
  const [from = 0, to = item.length] = bounds.map((b) => int("slice", b));
  if (from < 0 || to > item.length || from > to) throw new FuncError(`slice index out of range: ${from}:${to}`);
  return item.slice(from, to);
}

type Basic = string | number | boolean;
function basic(name: string, value: unknown): Basic {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  // a stringer compares as its text: ctrnet's inspect State was a word before it had podman's fields
  const text = stringForm(value);
  if (text !== undefined) return text;
  throw new FuncError(`${name}: invalid type for comparison: ${typeName(value)}`);
}

function comparable(name: string, a: unknown, b: unknown): [Basic, Basic] {
  const x = basic(name, a);
  const y = basic(name, b);
  if (typeof x !== typeof y) throw new FuncError(`${name}: incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  return [x, y];
}

function ordered(name: string, a: unknown, b: unknown): number {
  const [x, y] = comparable(name, a, b);
  if (typeof x === "boolean") throw new FuncError(`${name}: invalid type for comparison: bool`);
  return compareKeys(x, y);
}

/** Go's fmt.Sprint: a space between operands when neither side is a string. */
function sprint(args: unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += formatValue(a);
  });
  return out;
}

const HTML_ESCAPES: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\0": "\uFFFD" };

/** Go's JSON: no HTML escaping (as podman asks), map keys sorted. */
export function goJson(value: unknown, indent?: string): string {
  return JSON.stringify(toJson(value), null, indent) ?? "null";
}

function quote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** fmt.Sprintf's common verbs: %v %s %d %q %t %x %X %o %b %f %e %g %c %%, with flags, width and precision. */
export function sprintf(format: string, args: unknown[]): string {
  let arg = 0;
  return format.replace(/%([-+# 0]*)(\*|[0-9]+)?(?:\.(\*|[0-9]*))?([a-zA-Z%])/g, (_m, flags: string, w?: string, p?: string, verb?: string) => {
    if (verb === "%") return "%";
    const width = w === "*" ? int("printf", args[arg++]) : w === undefined ? undefined : Number(w);
    const prec = p === "*" ? int("printf", args[arg++]) : p === undefined ? undefined : p === "" ? 0 : Number(p);
    if (arg >= args.length) return `%!${verb}(MISSING)`;
    const value = args[arg++];
    let text: string;
    switch (verb) {
      case "v":
        text = flags.includes("#") && typeof value === "string" ? quote(value) : formatValue(value);
        break;
      case "s":
        if (typeof value === "number" || typeof value === "boolean") return `%!s(${typeName(value)}=${formatValue(value)})`;
        text = formatValue(value);
        if (prec !== undefined) text = [...text].slice(0, prec).join("");
        break;
      case "q":
        text = typeof value === "string" ? quote(value) : `%!q(${typeName(value)}=${formatValue(value)})`;
        break;
      case "t":
        text = typeof value === "boolean" ? String(value) : `%!t(${typeName(value)}=${formatValue(value)})`;
        break;
      case "d":
      case "x":
      case "X":
      case "o":
      case "b":
      case "c": {
        if (typeof value === "string" && (verb === "x" || verb === "X")) {
          text = Buffer.from(value).toString("hex");
        } else if (typeof value !== "number" || !Number.isInteger(value)) {
          return `%!${verb}(${typeName(value)}=${formatValue(value)})`;
        } else if (verb === "c") {
          text = String.fromCodePoint(value);
        } else {
          const radix = { d: 10, x: 16, X: 16, o: 8, b: 2 }[verb];
          text = Math.abs(value).toString(radix);
          if (verb === "X") text = text.toUpperCase();
          if (flags.includes("#") && verb !== "d") text = { x: "0x", X: "0X", o: "0", b: "0b" }[verb] + text;
          text = (value < 0 ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "") + text;
        }
        break;
      }
      case "f":
      case "F":
      case "e":
      case "g":
        if (typeof value !== "number") return `%!${verb}(${typeName(value)}=${formatValue(value)})`;
        if (verb === "e") text = value.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, "e$10$2");
        else if (verb === "g") text = formatFloat(prec === undefined ? value : Number(value.toPrecision(prec || 1)), prec || 6);
        else text = value.toFixed(prec ?? 6);
        if (flags.includes("+") && value >= 0) text = `+${text}`;
        break;
      default:
        return `%!${verb}(${typeName(value)}=${formatValue(value)})`;
    }
    if (width !== undefined && text.length < width) {
      if (flags.includes("-")) text = text.padEnd(width);
      else if (flags.includes("0") && /[dxXobfFeg]/.test(verb!)) {
        const sign = /^[+-]/.test(text) ? text[0]! : "";
        text = sign + text.slice(sign.length).padStart(width - sign.length, "0");
      } else text = text.padStart(width);
    }
    return text;
  }) + (arg < args.length ? `%!(EXTRA ${args.slice(arg).map((a) => `${typeName(a)}=${formatValue(a)}`).join(", ")})` : "");
}

/** and/or take their arguments unevaluated, as in Go 1.18+: they stop at the first that decides. */
export const LAZY_FUNCS: Record<string, (...args: LazyArg[]) => unknown> = {
  and: (...args) => {
    if (args.length < 1) throw new FuncError("wrong number of args for and: want at least 1 got 0");
    let value: unknown;
    for (const a of args) if (!truth((value = a()))) return value;
    return value;
  },
  or: (...args) => {
    if (args.length < 1) throw new FuncError("wrong number of args for or: want at least 1 got 0");
    let value: unknown;
    for (const a of args) if (truth((value = a()))) return value;
    return value;
  },
};

export const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  not: (...args) => (arity("not", args, 1), !truth(args[0])),
  len: (...args) => (arity("len", args, 1), length(args[0])),
  index: (...args) => (arity("index", args, 1, Infinity), index(args[0], ...args.slice(1))),
  slice: (...args) => (arity("slice", args, 1, 3), slice(args[0], ...args.slice(1))),
  print: (...args) => sprint(args),
  println: (...args) => `${args.map(formatValue).join(" ")}\n`,
  printf: (...args) => (arity("printf", args, 1, Infinity), sprintf(str("printf", args[0]), args.slice(1))),
  eq: (...args) => {
    arity("eq", args, 2, Infinity);
    return args.slice(1).some((b) => {
      const [x, y] = comparable("eq", args[0], b);
      return x === y;
    });
  },
  ne: (...args) => {
    arity("ne", args, 2);
    const [x, y] = comparable("ne", args[0], args[1]);
    return x !== y;
  },
  lt: (...args) => (arity("lt", args, 2), ordered("lt", args[0], args[1]) < 0),
  le: (...args) => (arity("le", args, 2), ordered("le", args[0], args[1]) <= 0),
  gt: (...args) => (arity("gt", args, 2), ordered("gt", args[0], args[1]) > 0),
  ge: (...args) => (arity("ge", args, 2), ordered("ge", args[0], args[1]) >= 0),
  join: (...args) => {
    arity("join", args, 2);
    const list = args[0];
    if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) {
      throw new FuncError(`join: expected a list of strings, got ${typeName(list)} ${formatValue(list)}`);
    }
    return list.join(str("join", args[1]));
  },
  json: (...args) => (arity("json", args, 1), goJson(args[0])),
  html: (...args) => sprint(args).replace(/[<>&'"\0]/g, (c) => HTML_ESCAPES[c]!),
  js: (...args) =>
    sprint(args).replace(/[\\'"<>&=\u0000-\u001f]/g, (c) =>
      c === "\\" || c === "'" || c === '"' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`,
    ),
  urlquery: (...args) => encodeURIComponent(sprint(args)).replace(/%20/g, "+").replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  lower: (...args) => (arity("lower", args, 1), str("lower", args[0]).toLowerCase()),
  upper: (...args) => (arity("upper", args, 1), str("upper", args[0]).toUpperCase()),
  title: (...args) => (arity("title", args, 1), str("title", args[0]).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_, a: string, b: string) => a + b.toUpperCase())),
  split: (...args) => (arity("split", args, 2), str("split", args[0]).split(str("split", args[1]))),
  pad: (...args) => {
    arity("pad", args, 3);
    const s = str("pad", args[0]);
    return s === "" ? s : " ".repeat(int("pad", args[1])) + s + " ".repeat(int("pad", args[2]));
  },
  truncate: (...args) => {
    arity("truncate", args, 2);
    const s = str("truncate", args[0]);
    const n = int("truncate", args[1]);
    return Buffer.byteLength(s) < n ? s : Buffer.from(s).subarray(0, n).toString();
  },
};
