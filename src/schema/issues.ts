// One readable line for what valibot found wrong in external input (files, stdin, plugin output).
import type * as v from "valibot";

/** `plugins[1].type`: the notation a person would type to reach the value in the JSON. */
function issuePath(issue: v.BaseIssue<unknown>): string {
  let out = "";
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function issueText(issue: v.BaseIssue<unknown>): string {
  if (issue.kind !== "schema") return issue.message;
  if (issue.received === "undefined") return "missing";
  return `expected ${issue.expected}, got ${issue.received}`;
}

/** One line for the first problem (the rest are usually consequences of it): `plugins[1].type: expected string, got 3`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return "invalid";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  const path = issuePath(first);
  return `${path ? `${path}: ` : ""}${issueText(first)}${more}`;
}
