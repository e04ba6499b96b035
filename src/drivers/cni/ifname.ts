import { UsageError } from "../../errors.ts";

/** IFNAMSIZ is 16 with the terminating NUL. */
const MAX_IFNAME = 15;

/** The kernel's dev_valid_name rules: plugins would fail later with a vaguer message. */
export function validateIfName(kind: string, name: string): string {
  if (name === "" || name.length > MAX_IFNAME) {
    throw new UsageError(`invalid ${kind} "${name}": must be 1 to ${MAX_IFNAME} characters`);
  }
  if (name === "." || name === ".." || /[/:\s]/.test(name)) {
    throw new UsageError(`invalid ${kind} "${name}": must not be "." or ".." or contain "/", ":" or spaces`);
  }
  // The kernel counts bytes, and tools differ on how they print other characters: ASCII only.
  if (!/^[\x21-\x7e]+$/.test(name)) throw new UsageError(`invalid ${kind} ${JSON.stringify(name)}: must be printable ASCII`);
  return name;
}
