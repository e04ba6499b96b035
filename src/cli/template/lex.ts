// Go text/template's lexer for the inside of one action: fields, variables, literals, keywords,
// punctuation, spaces, up to the closing delimiter and its trim marker.

export class TemplateError extends Error {
  constructor(
    readonly pos: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "TemplateError";
  }
}

type TokenKind =
  | "field" // .Name
  | "dot"
  | "variable" // $ or $name
  | "identifier"
  | "string"
  | "number"
  | "char"
  | "bool"
  | "nil"
  | "keyword"
  | "("
  | ")"
  | "|"
  | ":="
  | "="
  | ","
  | "space"
  | "end"; // the action's closing delimiter

export interface Token {
  kind: TokenKind;
  pos: number;
  text: string;
}

const KEYWORDS = new Set(["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"]);
export const isSpace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";
const isAlnum = (c: string) => /[\p{L}\p{N}_]/u.test(c);

/** The tokens of one action, from just after `{{` (and its trim marker) to its `}}`. */
export function lexAction(src: string, start: number): { tokens: Token[]; end: number; trimRight: boolean } {
  const tokens: Token[] = [];
  let i = start;
  let depth = 0;
  const push = (kind: TokenKind, from: number, to: number) => tokens.push({ kind, pos: from, text: src.slice(from, to) });
  for (;;) {
    if (isSpace(src[i] ?? "") && src.startsWith("-}}", i + 1)) {
      if (depth > 0) throw new TemplateError(i, "unclosed left paren");
      push("end", i, i + 4);
      return { tokens, end: i + 4, trimRight: true };
    }
    if (src.startsWith("}}", i)) {
      if (depth > 0) throw new TemplateError(i, "unclosed left paren");
      push("end", i, i + 2);
      return { tokens, end: i + 2, trimRight: false };
    }
    if (i >= src.length) throw new TemplateError(start, "unclosed action");
    const c = src[i]!;
    const from = i;
    if (isSpace(c)) {
      while (isSpace(src[i] ?? "") && !src.startsWith("-}}", i + 1)) i++;
      push("space", from, i);
      continue;
    }
    if (c === "(") {
      depth++;
      push("(", i, ++i);
      continue;
    }
    if (c === ")") {
      if (depth === 0) throw new TemplateError(i, "unexpected right paren");
      depth--;
      push(")", i, ++i);
      continue;
    }
    if (c === "|" || c === ",") {
      push(c, i, ++i);
      continue;
    }
    if (c === ":") {
      if (src[i + 1] !== "=") throw new TemplateError(i, "expected :=");
      i += 2;
      push(":=", from, i);
      continue;
    }
    if (c === "=") {
      push("=", i, ++i);
      continue;
    }
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === "\\") i++;
        if (src[i] === "\n") throw new TemplateError(from, "unterminated quoted string");
        i++;
      }
      if (i >= src.length) throw new TemplateError(from, "unterminated quoted string");
      push("string", from, ++i);
      continue;
    }
    if (c === "`") {
      const close = src.indexOf("`", i + 1);
      if (close < 0) throw new TemplateError(from, "unterminated raw quoted string");
      i = close + 1;
      push("string", from, i);
      continue;
    }
    if (c === "'") {
      i++;
      if (src[i] === "\\") i++;
      i++;
      if (src[i] !== "'") throw new TemplateError(from, "unterminated character constant");
      push("char", from, ++i);
      continue;
    }
    if (c === "$") {
      i++;
      while (i < src.length && isAlnum(src[i]!)) i++;
      push("variable", from, i);
      continue;
    }
    if (c === ".") {
      if (/[0-9]/.test(src[i + 1] ?? "")) {
        i = lexNumber(src, i);
        push("number", from, i);
        continue;
      }
      i++;
      while (i < src.length && isAlnum(src[i]!)) i++;
      push(i === from + 1 ? "dot" : "field", from, i);
      continue;
    }
    if (/[0-9+-]/.test(c)) {
      i = lexNumber(src, i);
      if (i === from + (c === "+" || c === "-" ? 1 : 0)) throw new TemplateError(from, `bad number syntax: "${src.slice(from, i + 1)}"`);
      push("number", from, i);
      continue;
    }
    if (isAlnum(c)) {
      while (i < src.length && isAlnum(src[i]!)) i++;
      const word = src.slice(from, i);
      push(word === "true" || word === "false" ? "bool" : word === "nil" ? "nil" : KEYWORDS.has(word) ? "keyword" : "identifier", from, i);
      continue;
    }
    throw new TemplateError(i, `bad character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} '${c}'`);
  }
}

function lexNumber(src: string, i: number): number {
  if (src[i] === "+" || src[i] === "-") i++;
  const m = /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9_]*\.?[0-9_]*([eE][+-]?[0-9_]+)?)/.exec(src.slice(i));
  return i + (m?.[0].length ?? 0);
}
