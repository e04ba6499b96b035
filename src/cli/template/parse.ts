// Go text/template's syntax, parsed into a tree: text, actions with pipelines, if/range/with with else
// (and `else if`), variables, comments, and the {{- -}} trim markers. define/template/block are refused:
// a --format is one template.
import { isSpace, lexAction, TemplateError, type Token } from "./lex.ts";

export { TemplateError } from "./lex.ts";

export type Operand =
  | { kind: "field"; pos: number; fields: string[] }
  | { kind: "variable"; pos: number; name: string; fields: string[] }
  | { kind: "dot"; pos: number }
  | { kind: "nil"; pos: number }
  | { kind: "literal"; pos: number; value: string | number | boolean }
  | { kind: "function"; pos: number; name: string }
  | { kind: "pipe"; pos: number; pipe: Pipeline; fields: string[] };

export interface Command {
  pos: number;
  args: Operand[];
}

export interface Pipeline {
  pos: number;
  /** `$x := …` declares, `$x = …` assigns */
  variables: string[];
  assign: boolean;
  commands: Command[];
}

export interface BlockNode {
  kind: "if" | "with" | "range";
  pos: number;
  pipe: Pipeline;
  list: Node[];
  elseList: Node[];
}

export type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pos: number; pipe: Pipeline }
  | BlockNode
  | { kind: "break" | "continue"; pos: number };

class ActionParser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(skipSpace = true): Token {
    let j = this.i;
    while (skipSpace && this.tokens[j]!.kind === "space") j++;
    return this.tokens[j]!;
  }
  next(skipSpace = true): Token {
    while (skipSpace && this.tokens[this.i]!.kind === "space") this.i++;
    return this.tokens[this.i++]!;
  }
  expectEnd(what: string): void {
    const t = this.next();
    if (t.kind !== "end") throw new TemplateError(t.pos, `unexpected "${t.text}" in ${what}`);
  }

  /** `[$x [, $y] :=|=] command | command …`, up to `}}` or a closing paren (not consumed). */
  pipeline(context: string, allowDecl: boolean): Pipeline {
    const start = this.peek();
    const pipe: Pipeline = { pos: start.pos, variables: [], assign: false, commands: [] };
    if (allowDecl && start.kind === "variable") {
      const save = this.i;
      const names: string[] = [this.next().text];
      let t = this.peek();
      if (t.kind === "," && context === "range") {
        this.next();
        const second = this.next();
        if (second.kind !== "variable") throw new TemplateError(second.pos, `range can only initialize variables`);
        names.push(second.text);
        t = this.peek();
      }
      if (t.kind === ":=" || t.kind === "=") {
        this.next();
        pipe.variables = names;
        pipe.assign = t.kind === "=";
      } else {
        this.i = save;
      }
    }
    for (;;) {
      const t = this.peek();
      if (t.kind === "end" || t.kind === ")") break;
      pipe.commands.push(this.command());
      const after = this.peek();
      if (after.kind === "|") {
        this.next();
        continue;
      }
      if (after.kind !== "end" && after.kind !== ")") throw new TemplateError(after.pos, `unexpected "${after.text}" in operand`);
    }
    if (pipe.commands.length === 0) throw new TemplateError(start.pos, `missing value for ${context}`);
    return pipe;
  }

  command(): Command {
    const first = this.peek();
    const cmd: Command = { pos: first.pos, args: [] };
    for (;;) {
      const t = this.peek(false);
      if (t.kind === "space") {
        this.next(false);
        continue;
      }
      if (t.kind === "end" || t.kind === ")" || t.kind === "|") break;
      if (cmd.args.length > 0 && this.tokens[this.i - 1]!.kind !== "space") {
        throw new TemplateError(t.pos, `missing space before "${t.text}"`);
      }
      cmd.args.push(this.operand());
    }
    if (cmd.args.length === 0) throw new TemplateError(first.pos, "missing value for command");
    return cmd;
  }

  /** One operand and the field chain glued to it (`$x.A.B`, `(…).A`). */
  operand(): Operand {
    const t = this.next(false);
    let op: Operand;
    switch (t.kind) {
      case "field":
        op = { kind: "field", pos: t.pos, fields: [t.text.slice(1)] };
        break;
      case "dot":
        op = { kind: "dot", pos: t.pos };
        break;
      case "variable":
        op = { kind: "variable", pos: t.pos, name: t.text, fields: [] };
        break;
      case "nil":
        op = { kind: "nil", pos: t.pos };
        break;
      case "bool":
        op = { kind: "literal", pos: t.pos, value: t.text === "true" };
        break;
      case "number":
        op = { kind: "literal", pos: t.pos, value: parseNumber(t) };
        break;
      case "char":
        op = { kind: "literal", pos: t.pos, value: unquote({ ...t, text: `"${t.text.slice(1, -1)}"` }).codePointAt(0)! };
        break;
      case "string":
        op = { kind: "literal", pos: t.pos, value: unquote(t) };
        break;
      case "identifier":
        op = { kind: "function", pos: t.pos, name: t.text };
        break;
      case "(": {
        const pipe = this.pipeline("parenthesized pipeline", true);
        const close = this.next();
        if (close.kind !== ")") throw new TemplateError(close.pos, "unclosed left paren");
        op = { kind: "pipe", pos: t.pos, pipe, fields: [] };
        break;
      }
      default:
        throw new TemplateError(t.pos, `unexpected "${t.text}" in operand`);
    }
    while (this.peek(false).kind === "field") {
      const f = this.next(false);
      if (op.kind === "field" || op.kind === "variable" || op.kind === "pipe") op.fields.push(f.text.slice(1));
      else if (op.kind === "dot") op = { kind: "field", pos: op.pos, fields: [f.text.slice(1)] };
      else throw new TemplateError(f.pos, `unexpected . after term "${t.text}"`);
    }
    if (op.kind === "variable" && op.fields.length === 0 && this.peek(false).kind === "dot") {
      throw new TemplateError(this.peek(false).pos, `unexpected . after term "${t.text}"`);
    }
    return op;
  }
}

function parseNumber(t: Token): number {
  const text = t.text.replaceAll("_", "");
  const sign = text.startsWith("-") ? -1 : 1;
  const body = text.replace(/^[+-]/, "");
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (/^0[0-7]+$/.test(body)) n = parseInt(body, 8);
  else n = Number(body);
  if (body === "" || Number.isNaN(n)) throw new TemplateError(t.pos, `bad number syntax: "${t.text}"`);
  return sign * n;
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", a: "\x07", b: "\b", f: "\f", v: "\v", "0": "\0" };

function unquote(t: Token): string {
  if (t.text.startsWith("`")) return t.text.slice(1, -1);
  const body = t.text.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    const out = ESCAPES[e];
    if (out === undefined) throw new TemplateError(t.pos, `invalid syntax in string ${t.text}`);
    return out;
  });
}

// ---- the tree ----

interface Frame {
  kind: "root" | "if" | "with" | "range";
  pos: number;
  pipe?: Pipeline;
  list: Node[];
  elseList: Node[];
  inElse: boolean;
  /** an `else if`/`else with` frame closes together with its parent at {{end}} */
  chained: boolean;
}

/** Parses a whole template; positions in errors are offsets into src. */
export function parseTemplate(src: string): Node[] {
  const root: Frame = { kind: "root", pos: 0, list: [], elseList: [], inElse: false, chained: false };
  const stack: Frame[] = [root];
  const top = () => stack[stack.length - 1]!;
  const emit = (node: Node) => (top().inElse ? top().elseList : top().list).push(node);
  let rangeDepth = 0;
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    let text = src.slice(i, open < 0 ? src.length : open);
    const trimLeft = open >= 0 && src[open + 2] === "-" && isSpace(src[open + 3] ?? "");
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, "");
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, "");
    if (text) emit({ kind: "text", text });
    if (open < 0) break;
    const bodyStart = open + (trimLeft ? 3 : 2);
    // A comment is `{{/*` … `*/}}`, with the trim markers outside it.
    const afterSpace = trimLeft ? bodyStart + 1 : bodyStart;
    if (src.startsWith("/*", afterSpace)) {
      const close = src.indexOf("*/", afterSpace + 2);
      if (close < 0) throw new TemplateError(open, "unclosed comment");
      let end = close + 2;
      const trimRight = /^[ \t\r\n]-}}/.test(src.slice(end));
      if (trimRight) end += 1;
      if (src[end] === "-" && !trimRight) throw new TemplateError(end, "comment ends before closing delimiter");
      if (!src.startsWith(trimRight ? "-}}" : "}}", end)) throw new TemplateError(end, "comment ends before closing delimiter");
      i = end + (trimRight ? 3 : 2);
      trimNext = trimRight;
      continue;
    }
    const { tokens, end, trimRight } = lexAction(src, bodyStart);
    i = end;
    trimNext = trimRight;
    const p = new ActionParser(tokens);
    const head = p.peek();
    if (head.kind === "end") throw new TemplateError(head.pos, "missing value for command");
    if (head.kind !== "keyword") {
      emit({ kind: "action", pos: head.pos, pipe: p.pipeline("command", true) });
      p.expectEnd("command");
      continue;
    }
    p.next();
    switch (head.text) {
      case "if":
      case "with":
      case "range": {
        const pipe = p.pipeline(head.text, true);
        p.expectEnd(head.text);
        stack.push({ kind: head.text, pos: head.pos, pipe, list: [], elseList: [], inElse: false, chained: false });
        if (head.text === "range") rangeDepth++;
        break;
      }
      case "else": {
        const frame = top();
        if (frame.kind === "root" || frame.inElse) throw new TemplateError(head.pos, "unexpected {{else}}");
        const chain = p.peek();
        if (chain.kind === "keyword" && (chain.text === "if" || chain.text === "with") && frame.kind !== "range") {
          p.next();
          const pipe = p.pipeline(chain.text, true);
          p.expectEnd(chain.text);
          frame.inElse = true;
          stack.push({ kind: chain.text, pos: chain.pos, pipe, list: [], elseList: [], inElse: false, chained: true });
        } else {
          p.expectEnd("else");
          frame.inElse = true;
        }
        break;
      }
      case "end": {
        p.expectEnd("end");
        for (;;) {
          const frame = stack.pop()!;
          if (frame.kind === "root") throw new TemplateError(head.pos, "unexpected {{end}}");
          if (frame.kind === "range") rangeDepth--;
          const node: Node = { kind: frame.kind, pos: frame.pos, pipe: frame.pipe!, list: frame.list, elseList: frame.elseList };
          emit(node);
          if (!frame.chained) break;
        }
        break;
      }
      case "break":
      case "continue":
        if (rangeDepth === 0) throw new TemplateError(head.pos, `{{${head.text}}} outside {{range}}`);
        p.expectEnd(head.text);
        emit({ kind: head.text, pos: head.pos });
        break;
      default:
        throw new TemplateError(head.pos, `{{${head.text}}} is not supported: a --format is a single template`);
    }
  }
  if (stack.length > 1) throw new TemplateError(top().pos, `unexpected EOF: {{${top().kind}}} has no {{end}}`);
  return root.list;
}
