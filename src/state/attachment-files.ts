// One small JSON file per attachment of ctrnet's own plugin, in a directory of the state root, keyed by
// network, container and interface: written whole after the attachment is made, read back by DEL, CHECK,
// GC and the firewall rebuild when the caller no longer has it. A file missing, cut short by a crash or
// not matching its schema reads as nothing.
import { readdirSync, readFileSync, rmSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import * as v from "valibot";
import { writeFileAtomic } from "./atomic-file.ts";

export interface AttachmentKey {
  network: string;
  containerId: string;
  ifname: string;
}

export interface AttachmentFiles<T extends AttachmentKey> {
  /** Written after the attachment is made, before its maker reports success. */
  save(root: string, a: T): void;
  forget(root: string, a: AttachmentKey): void;
  find(root: string, a: AttachmentKey): T | undefined;
  /** Every readable one, of one network when given; damaged files are skipped. */
  list(root: string, network?: string): T[];
}

/** schema() is called at the first read: the schemas are built then (schema/lazy.ts), not when the module loads. */
export function attachmentFiles<T extends AttachmentKey>(subdir: string, schema: () => v.GenericSchema<unknown, T>): AttachmentFiles<T> {
  const dir = (root: string) => join(root, subdir);
  const fileOf = (root: string, a: AttachmentKey) => {
    const key = new Bun.CryptoHasher("sha256").update(`${a.network}\0${a.containerId}\0${a.ifname}`).digest("hex").slice(0, 32);
    return join(dir(root), `${key}.json`);
  };
  const read = (path: string): T | undefined => {
    try {
      const parsed = v.safeParse(schema(), JSON.parse(readFileSync(path, "utf8")));
      return parsed.success ? parsed.output : undefined;
    } catch {
      // missing, or cut short by a crash: nothing that can be trusted
      return undefined;
    }
  };
  return {
    save: (root, a) => writeFileAtomic(fileOf(root, a), JSON.stringify(a)),
    forget: (root, a) => rmSync(fileOf(root, a), { force: true }),
    find: (root, a) => read(fileOf(root, a)),
    list(root, network) {
      let names: string[];
      try {
        names = readdirSync(dir(root));
      } catch {
        return [];
      }
      return names
        .filter((n) => n.endsWith(".json"))
        .sort()
        .flatMap((n) => {
          const a = read(join(dir(root), n));
          return a && (network === undefined || a.network === network) ? [a] : [];
        });
    },
  };
}
