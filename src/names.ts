import { UsageError } from "./errors.ts";

/** Container ids, network names and netns names become file names: only this shape is allowed. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME = 253;

export function validateName(kind: string, name: string): string {
  if (name === "") throw new UsageError(`${kind} must not be empty`);
  if (name.length > MAX_NAME) throw new UsageError(`${kind} "${name.slice(0, 32)}…" is longer than ${MAX_NAME} characters`);
  if (!NAME_PATTERN.test(name)) throw new UsageError(`invalid ${kind} "${name}": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  return name;
}
