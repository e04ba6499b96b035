// What every macvlan or ipvlan attachment of ctrnet's plugin holds, whoever made it: what DEL, CHECK and
// GC need when the caller no longer has it (the netns to take the link out of, the leased addresses). One
// small file per attachment, as the native bridge attachments' (kept apart from them: these have nothing
// in the firewall table, which is rebuilt from those).
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { VlanAttachmentFile } from "../schema/vlan-attachment.ts";
import { writeFileAtomic } from "./atomic-file.ts";

export type VlanAttachment = v.InferOutput<typeof VlanAttachmentFile>;
type Key = Pick<VlanAttachment, "network" | "containerId" | "ifname">;

function dir(root: string): string {
  return join(root, "vlan");
}

function fileOf(root: string, a: Key): string {
  const key = new Bun.CryptoHasher("sha256").update(`${a.network}\0${a.containerId}\0${a.ifname}`).digest("hex").slice(0, 32);
  return join(dir(root), `${key}.json`);
}

/** Written after the attachment is made, before its maker reports success. */
export function saveVlanAttachment(root: string, a: VlanAttachment): void {
  writeFileAtomic(fileOf(root, a), JSON.stringify(a));
}

export function forgetVlanAttachment(root: string, a: Key): void {
  rmSync(fileOf(root, a), { force: true });
}

export function findVlanAttachment(root: string, a: Key): VlanAttachment | undefined {
  return read(fileOf(root, a));
}

function read(path: string): VlanAttachment | undefined {
  try {
    const parsed = v.safeParse(VlanAttachmentFile, JSON.parse(readFileSync(path, "utf8")));
    return parsed.success ? parsed.output : undefined;
  } catch {
    // missing, or cut short by a crash: nothing that can be trusted
    return undefined;
  }
}

/** Every readable one of the network; damaged files are skipped. */
export function listVlanAttachments(root: string, network: string): VlanAttachment[] {
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
      return a && a.network === network ? [a] : [];
    });
}
