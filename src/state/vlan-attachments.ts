// What every macvlan or ipvlan attachment of ctrnet's plugin holds, whoever made it: what DEL, CHECK and
// GC need when the caller no longer has it (the netns to take the link out of, the leased addresses). One
// small file per attachment, as the native bridge attachments' (kept apart from them: these have nothing
// in the firewall table, which is rebuilt from those).
import type * as v from "valibot";
import { vlanAttachmentSchema } from "../schema/vlan-attachment.ts";
import { type AttachmentKey, attachmentFiles } from "./attachment-files.ts";

export type VlanAttachment = v.InferOutput<ReturnType<typeof vlanAttachmentSchema>>;

const files = attachmentFiles("vlan", vlanAttachmentSchema);

/** Written after the attachment is made, before its maker reports success. */
export function saveVlanAttachment(root: string, a: VlanAttachment): void {
  files.save(root, a);
}

export function forgetVlanAttachment(root: string, a: AttachmentKey): void {
  files.forget(root, a);
}

export function findVlanAttachment(root: string, a: AttachmentKey): VlanAttachment | undefined {
  return files.find(root, a);
}

/** Every readable one of the network; damaged files are skipped. */
export function listVlanAttachments(root: string, network: string): VlanAttachment[] {
  return files.list(root, network);
}
