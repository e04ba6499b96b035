// podman's `--filter KEY=VALUE` words, shared by `ls` and `network ls|prune`: each value under its key, in
// order; a key of another command's, or a word without `=`, is one line naming the keys there are.
import { UsageError } from "./errors.ts";

export function splitFilters<K extends string>(items: readonly string[], keys: readonly K[]): Partial<Record<K, string[]>> {
  const out: Partial<Record<K, string[]>> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    // `label!=KEY`: the `!` belongs to the key, as podman reads it
    const key = item.slice(0, Math.max(eq, 0));
    if (eq < 0 || !(keys as readonly string[]).includes(key)) {
      throw new UsageError(`invalid filter "${eq < 0 ? item : key}": use ${keys.map((k) => `${k}=…`).join(", ")}`);
    }
    (out[key as K] ??= []).push(item.slice(eq + 1));
  }
  return out;
}
