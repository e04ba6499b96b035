// Runs a parsed template on a value, as Go's text/template executes one: dot, $, variables scoped to their
// block, fields of structs and keys of maps, pipelines passing their value as the last argument.
import { FuncError, FUNCS, LAZY_FUNCS } from "./funcs.ts";
import { type BlockNode, type Command, type Node, type Operand, type Pipeline, TemplateError } from "./parse.ts";
import { compareKeys, formatValue, isStruct, truth, typeName } from "./value.ts";

class Break {}
class Continue {}

interface Scope {
  vars: Map<string, unknown>[];
}

function lookupVar(scope: Scope, name: string, pos: number): unknown {
  for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.has(name)) return scope.vars[i]!.get(name);
  throw new TemplateError(pos, `undefined variable "${name}"`);
}

function setVar(scope: Scope, name: string, value: unknown, pos: number): void {
  for (let i = scope.vars.length - 1; i >= 0; i--) {
    if (scope.vars[i]!.has(name)) {
      scope.vars[i]!.set(name, value);
      return;
    }
  }
  throw new TemplateError(pos, `undefined variable "${name}"`);
}

function field(receiver: unknown, name: string, pos: number, chain: string): unknown {
  if (receiver instanceof Map) return receiver.get(name);
  if (isStruct(receiver) && Object.hasOwn(receiver, name)) return receiver[name];
  if (receiver === undefined || receiver === null) throw new TemplateError(pos, `nil pointer evaluating ${chain}`);
  throw new TemplateError(pos, `can't evaluate field ${name} in type ${typeName(receiver)}`);
}

function fieldChain(receiver: unknown, fields: readonly string[], pos: number, head: string): unknown {
  let value = receiver;
  let chain = head;
  for (const name of fields) {
    value = field(value, name, pos, `${chain}.${name}`);
    chain = `${chain}.${name}`;
  }
  return value;
}

class Executor {
  private out = "";
  constructor(private readonly root: unknown) {}

  run(nodes: readonly Node[]): string {
    this.walk(nodes, this.root, { vars: [new Map([["$", this.root]])] });
    return this.out;
  }

  private walk(nodes: readonly Node[], dot: unknown, scope: Scope): void {
    for (const node of nodes) {
      switch (node.kind) {
        case "text":
          this.out += node.text;
          break;
        case "action": {
          const value = this.pipeline(node.pipe, dot, scope);
          if (node.pipe.variables.length === 0) this.out += formatValue(value);
          break;
        }
        case "if":
        case "with":
          this.conditional(node, dot, scope);
          break;
        case "range":
          this.range(node, dot, scope);
          break;
        case "break":
          throw new Break();
        case "continue":
          throw new Continue();
      }
    }
  }

  private block(nodes: readonly Node[], dot: unknown, scope: Scope, vars = new Map<string, unknown>()): void {
    scope.vars.push(vars);
    try {
      this.walk(nodes, dot, scope);
    } finally {
      scope.vars.pop();
    }
  }

  private conditional(node: BlockNode, dot: unknown, scope: Scope): void {
    // The pipeline's variables live until {{end}}, in the else branch too.
    const vars = new Map<string, unknown>();
    scope.vars.push(vars);
    try {
      const value = this.pipeline(node.pipe, dot, scope);
      if (truth(value)) this.block(node.list, node.kind === "with" ? value : dot, scope);
      else this.block(node.elseList, dot, scope);
    } finally {
      scope.vars.pop();
    }
  }

  private range(node: BlockNode, dot: unknown, scope: Scope): void {
    const { variables } = node.pipe;
    const value = this.pipeline({ ...node.pipe, variables: [] }, dot, scope);
    let items: [unknown, unknown][];
    if (Array.isArray(value)) items = value.map((v, i) => [i, v]);
    else if (value instanceof Map) items = [...value.keys()].sort(compareKeys).map((k) => [k, value.get(k)]);
    else if (typeof value === "number" && Number.isInteger(value)) items = Array.from({ length: Math.max(value, 0) }, (_, i) => [i, i]);
    else if (value === undefined || value === null) items = [];
    else throw new TemplateError(node.pos, `range can't iterate over ${formatValue(value)}`);
    if (items.length === 0) {
      this.block(node.elseList, dot, scope);
      return;
    }
    for (const [key, elem] of items) {
      const vars = new Map<string, unknown>();
      if (variables.length === 1) vars.set(variables[0]!, elem);
      if (variables.length === 2) {
        vars.set(variables[0]!, key);
        vars.set(variables[1]!, elem);
      }
      try {
        this.block(node.list, elem, scope, vars);
      } catch (signal) {
        if (signal instanceof Break) break;
        if (!(signal instanceof Continue)) throw signal;
      }
    }
  }

  private pipeline(pipe: Pipeline, dot: unknown, scope: Scope): unknown {
    let value: unknown;
    let first = true;
    for (const cmd of pipe.commands) {
      value = this.command(cmd, dot, scope, first ? [] : [value]);
      first = false;
    }
    for (const name of pipe.variables) {
      if (pipe.assign) setVar(scope, name, value, pipe.pos);
      else scope.vars[scope.vars.length - 1]!.set(name, value);
    }
    return value;
  }

  private command(cmd: Command, dot: unknown, scope: Scope, piped: unknown[]): unknown {
    const [head, ...rest] = cmd.args;
    if (head!.kind === "function") return this.call(head!, rest, dot, scope, piped);
    if (head!.kind === "nil") throw new TemplateError(head!.pos, "nil is not a command");
    if (rest.length > 0 || piped.length > 0) {
      throw new TemplateError(head!.pos, `can't give argument to non-function ${describe(head!)}`);
    }
    return this.operand(head!, dot, scope);
  }

  private call(fn: Extract<Operand, { kind: "function" }>, args: Operand[], dot: unknown, scope: Scope, piped: unknown[]): unknown {
    const lazy = Object.hasOwn(LAZY_FUNCS, fn.name) ? LAZY_FUNCS[fn.name]! : undefined;
    const eager = Object.hasOwn(FUNCS, fn.name) ? FUNCS[fn.name]! : undefined;
    try {
      if (lazy) return lazy(...args.map((a) => () => this.operand(a, dot, scope)), ...piped.map((p) => () => p));
      if (eager) return eager(...args.map((a) => this.operand(a, dot, scope)), ...piped);
    } catch (err) {
      if (err instanceof FuncError) throw new TemplateError(fn.pos, `error calling ${fn.name}: ${err.message}`);
      throw err;
    }
    throw new TemplateError(fn.pos, `function "${fn.name}" not defined`);
  }

  private operand(op: Operand, dot: unknown, scope: Scope): unknown {
    switch (op.kind) {
      case "dot":
        return dot;
      case "nil":
        return null;
      case "literal":
        return op.value;
      case "field":
        return fieldChain(dot, op.fields, op.pos, "");
      case "variable":
        return fieldChain(lookupVar(scope, op.name, op.pos), op.fields, op.pos, op.name);
      case "pipe": {
        scope.vars.push(new Map());
        try {
          return fieldChain(this.pipeline(op.pipe, dot, scope), op.fields, op.pos, "(…)");
        } finally {
          scope.vars.pop();
        }
      }
      case "function":
        return this.call(op, [], dot, scope, []);
    }
  }
}

function describe(op: Operand): string {
  switch (op.kind) {
    case "field":
      return `.${op.fields.join(".")}`;
    case "variable":
      return [op.name, ...op.fields].join(".");
    case "literal":
      return JSON.stringify(op.value);
    default:
      return op.kind;
  }
}

export function execute(nodes: readonly Node[], data: unknown): string {
  return new Executor(data).run(nodes);
}
