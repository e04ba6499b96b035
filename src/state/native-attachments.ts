// What every native-bridge attachment published and holds, whoever made it (ctrnet's own containers, or a
// runtime calling ctrnet as its CNI plugin): the one list the firewall table is rebuilt from after a flush,
// and what a GC or DEL needs when the caller no longer has it. One small file per attachment beside the
// state database, as the netns marks are: they are what is left to clean up with when the database is lost.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { NativeAttachmentFile } from "../schema/native-attachment.ts";
import { writeFileAtomic } from "./atomic-file.ts";

export type NativeAttachment = v.InferOutput<typeof NativeAttachmentFile>;

function dir(root: string): string {
  return join(root, "native");
}

function fileOf(root: string, a: Pick<NativeAttachment, "network" | "containerId" | "ifname">): string {
  const key = new Bun.CryptoHasher("sha256").update(`${a.network}\0${a.containerId}\0${a.ifname}`).digest("hex").slice(0, 32);
  return join(dir(root), `${key}.json`);
}

/** Written after the attachment is made, before its maker reports success. */
export function saveNativeAttachment(root: string, a: NativeAttachment): void {
  writeFileAtomic(fileOf(root, a), JSON.stringify(a));
}

export function forgetNativeAttachment(root: string, a: Pick<NativeAttachment, "network" | "containerId" | "ifname">): void {
  rmSync(fileOf(root, a), { force: true });
}

export function findNativeAttachment(root: string, a: Pick<NativeAttachment, "network" | "containerId" | "ifname">): NativeAttachment | undefined {
  return read(fileOf(root, a));
}

function read(path: string): NativeAttachment | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed = v.safeParse(NativeAttachmentFile, JSON.parse(text));
    return parsed.success ? parsed.output : undefined;
  } catch {
    // a file cut short by a crash describes nothing that can be trusted
    return undefined;
  }
}

/** Every readable one, optionally of one network; damaged files are skipped. */
export function listNativeAttachments(root: string, filter: { network?: string } = {}): NativeAttachment[] {
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
      return a && (filter.network === undefined || a.network === filter.network) ? [a] : [];
    });
}
