// What every native-bridge attachment published and holds, whoever made it (ctrnet's own containers, or a
// runtime calling ctrnet as its CNI plugin): the one list the firewall table is rebuilt from after a flush,
// and what a GC or DEL needs when the caller no longer has it. One small file per attachment beside the
// state database, as the netns marks are: they are what is left to clean up with when the database is lost.
import type * as v from "valibot";
import { nativeAttachmentSchema } from "../schema/native-attachment.ts";
import { type AttachmentKey, attachmentFiles } from "./attachment-files.ts";

export type NativeAttachment = v.InferOutput<ReturnType<typeof nativeAttachmentSchema>>;

const files = attachmentFiles("native", nativeAttachmentSchema);

/** Written after the attachment is made, before its maker reports success. */
export function saveNativeAttachment(root: string, a: NativeAttachment): void {
  files.save(root, a);
}

export function forgetNativeAttachment(root: string, a: AttachmentKey): void {
  files.forget(root, a);
}

export function findNativeAttachment(root: string, a: AttachmentKey): NativeAttachment | undefined {
  return files.find(root, a);
}

/** Every readable one, optionally of one network; damaged files are skipped. */
export function listNativeAttachments(root: string, filter: { network?: string } = {}): NativeAttachment[] {
  return files.list(root, filter.network);
}
