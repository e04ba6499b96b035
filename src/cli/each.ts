import { ErrorList } from "../errors.ts";
import { LOOPING_POLICY, lowerJitPolicy } from "./jit.ts";

/**
 * Runs fn for every name even when some fail, as `rm A B C` must: stopping at the first would leave the
 * rest in place. One failure is rethrown as it is; several become one ErrorList (one line).
 */
export async function forEachName(names: readonly string[], fn: (name: string) => unknown, what = ""): Promise<void> {
  // `rm A B C`, `rm -a`: long enough for the JIT to pay back
  if (names.length > 1) lowerJitPolicy(LOOPING_POLICY);
  const errors: unknown[] = [];
  for (const name of names) {
    try {
      await fn(name);
    } catch (err) {
      errors.push(err);
    }
  }
  ErrorList.throwIfAny(what, errors);
}
