// The values a template sees, modelled on Go's: a JS Map is a Go map (a missing key is "<no value>", range
// walks sorted keys), a plain object is a struct (a missing field is an error), an array a slice. A struct
// made from JSON keeps that JSON, so `{{json .}}` prints what `--format json` prints, not the Go names.

const JSON_FORM = Symbol("json form");

export type GoStruct = { [field: string]: unknown; [JSON_FORM]?: unknown };

/** A struct with Go field names whose `json` form is `json` (podman's structs carry json tags). */
export function struct(fields: Record<string, unknown>, json: unknown): GoStruct {
  Object.defineProperty(fields, JSON_FORM, { value: json, enumerable: false });
  return fields as GoStruct;
}

const STRING_FORM = Symbol("string form");

/**
 * A struct that prints as text, as a Go value with a String method does (fmt's %v calls it), whose JSON
 * form is that text too: where ctrnet's JSON keeps a word and podman's value is a struct of these fields.
 */
export function stringer(text: string, fields: Record<string, unknown>): GoStruct {
  Object.defineProperty(fields, STRING_FORM, { value: text, enumerable: false });
  return struct(fields, text);
}

/** The text a stringer prints as; undefined for any other value. */
export function stringForm(value: unknown): string | undefined {
  return isStruct(value) ? (value as { [STRING_FORM]?: string })[STRING_FORM] : undefined;
}

export function isStruct(value: unknown): value is GoStruct {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Map);
}

/** The field name of a JSON key when the two differ only in spelling (renames), Go's otherwise. */
export interface Shape {
  /** JSON key -> Go field name, where they differ */
  renames?: Record<string, string>;
  /** JSON keys whose values are Go maps (every other object is a struct) */
  maps?: readonly string[];
}

/** A JSON document as template values: objects become structs, or maps under the keys shape.maps names. */
export function fromJson(json: unknown, shape: Shape, asMap = false): unknown {
  if (Array.isArray(json)) return json.map((item) => fromJson(item, shape));
  if (typeof json !== "object" || json === null) return json;
  const entries = Object.entries(json);
  if (asMap) return new Map(entries.map(([k, v]) => [k, fromJson(v, shape)]));
  const fields: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const isMap = shape.maps?.includes(key) ?? false;
    // a Go map field that is null in JSON is a nil map: `map[]` in a template, as Go prints it
    fields[shape.renames?.[key] ?? key] = value === null && isMap ? nilMap() : fromJson(value, shape, isMap);
  }
  return struct(fields, json);
}

const NIL_SLICE = Symbol("nil slice");

/**
 * A Go nil slice (a slice field nothing set): printed `[]` by %v, as an empty one, but `null` by
 * encoding/json, where an empty slice is `[]`.
 */
export function nilSlice(): unknown[] {
  const empty: unknown[] = [];
  Object.defineProperty(empty, NIL_SLICE, { value: true, enumerable: false });
  return Object.freeze(empty) as unknown[];
}

const NIL_MAP = Symbol("nil map");

/** A Go nil map: printed `map[]` by %v, as an empty one, but `null` by encoding/json. */
export function nilMap(): Map<unknown, unknown> {
  const empty = new Map();
  Object.defineProperty(empty, NIL_MAP, { value: true, enumerable: false });
  return empty;
}

/** What encoding/json makes of a value: a struct's JSON form, a map's entries with sorted keys. */
export function toJson(value: unknown): unknown {
  if (value instanceof Map) {
    if ((value as { [NIL_MAP]?: true })[NIL_MAP]) return null;
    const keys = [...value.keys()].map(String).sort();
    return Object.fromEntries(keys.map((k) => [k, toJson(value.get(k))]));
  }
  if (Array.isArray(value)) return (value as { [NIL_SLICE]?: true })[NIL_SLICE] ? null : value.map(toJson);
  if (isStruct(value)) {
    if (value[JSON_FORM] !== undefined) return value[JSON_FORM];
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value === undefined ? null : value;
}

/** Go's fmt %v. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "<no value>";
  if (value === null) return "<nil>";
  if (typeof value === "string") return value;
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return `[${value.map(formatNested).join(" ")}]`;
  if (value instanceof Map) {
    const keys = [...value.keys()].sort(compareKeys);
    return `map[${keys.map((k) => `${formatNested(k)}:${formatNested(value.get(k))}`).join(" ")}]`;
  }
  if (typeof value === "function") return "<func>";
  return stringForm(value) ?? `{${Object.values(value as object).map(formatNested).join(" ")}}`;
}

/** Inside a composite, Go prints a nil element as <nil> as well. */
function formatNested(value: unknown): string {
  return value === undefined ? "<nil>" : formatValue(value);
}

/**
 * Go's %v of a number. A template's integral number is an int (printed as is) when int64 holds it;
 * any other is a float64, printed in its shortest form with an exponent of two digits at least when it
 * is below 1e-4 or at least 1e6 (the bound is `limit`: %.Ng passes N).
 */
function formatNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 2 ** 63 ? String(n) : formatFloat(n, 6);
}

export function formatFloat(n: number, limit: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "+Inf" : "-Inf";
  const [mantissa, exp] = n.toExponential().split("e") as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= limit) return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  return n.toFixed(Math.max(0, (mantissa.split(".")[1]?.length ?? 0) - e));
}

export function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Go's template truth: false, 0, "", nil and empty collections are false; a struct is always true. */
export function truth(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string" || Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  return true;
}

/** A short name of a value's type, for errors. */
export function typeName(value: unknown): string {
  if (value === undefined || value === null) return "nil";
  if (Array.isArray(value)) return "slice";
  if (value instanceof Map) return "map";
  if (typeof value === "object") return "struct";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float64";
  if (typeof value === "boolean") return "bool";
  return typeof value;
}
