import { readdirSync } from "../../ffi/fs.ts";
import { defaultNetnsDir } from "./dir.ts";

/** Names of the persistent network namespaces in dir, sorted; none when dir does not exist. */
export function listNetns(dir = defaultNetnsDir()): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}
