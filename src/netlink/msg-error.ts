// NLMSG_ERROR (struct nlmsgerr: errno, the request's header, the request itself unless capped, then
// extended-ack attributes) and NLMSG_DONE (an errno, then extended-ack attributes).
import { attrTable, bytes, decodeAttrs, encodeAttrs, string, u32, type Attr } from "./attrs.ts";
import { NetlinkMalformedError } from "./errors.ts";
import {
  align4,
  decodeHeader,
  HOST_LITTLE_ENDIAN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  viewOf,
  type NlHeader,
  type Writer,
} from "./wire.ts";

const EXT_ACK = attrTable("extended ack", {
  message: [1, string],
  offset: [2, u32],
  cookie: [3, bytes],
  missingType: [5, u32],
  missingNest: [6, u32],
});
export type ExtAckAttr = Attr<typeof EXT_ACK.spec>;

export interface ErrorMessage {
  /** 0 for an acknowledgement, otherwise a negative errno. */
  error: number;
  /** The header of the request this answers. */
  request: NlHeader & { length: number };
  /** The request's body, echoed when the kernel did not cap the reply (NLM_F_CAPPED clear). */
  echoed?: Uint8Array;
  extAck: ExtAckAttr[];
}

/** `flags` are the NLMSG_ERROR message's own: they say whether the request is echoed and whether attributes follow. */
export function decodeErrorMessage(payload: Uint8Array, flags: number): ErrorMessage {
  if (payload.length < 4 + NLMSG_HDRLEN) throw new NetlinkMalformedError(`nlmsgerr of ${payload.length} bytes`);
  const view = viewOf(payload);
  const request = decodeHeader(view, 4);
  let offset = 4 + NLMSG_HDRLEN;
  const out: ErrorMessage = { error: view.getInt32(0, HOST_LITTLE_ENDIAN), request, extAck: [] };
  if ((flags & NLM_F_CAPPED) === 0) {
    const end = 4 + align4(request.length);
    if (request.length < NLMSG_HDRLEN || end > payload.length) throw new NetlinkMalformedError(`nlmsgerr echoes ${request.length} bytes`);
    out.echoed = payload.slice(offset, 4 + request.length);
    offset = end;
  }
  if (flags & NLM_F_ACK_TLVS) out.extAck = decodeAttrs(EXT_ACK, payload.subarray(offset));
  return out;
}

export function encodeErrorMessage(w: Writer, msg: ErrorMessage): void {
  w.i32(msg.error);
  w.u32(msg.request.length);
  w.u16(msg.request.type);
  w.u16(msg.request.flags);
  w.u32(msg.request.seq);
  w.u32(msg.request.pid);
  if (msg.echoed) {
    w.bytes(msg.echoed);
    w.pad();
  }
  encodeAttrs(w, EXT_ACK, msg.extAck);
}

export interface DoneMessage {
  error: number;
  extAck: ExtAckAttr[];
}

export function decodeDoneMessage(payload: Uint8Array, flags: number): DoneMessage {
  if (payload.length < 4) throw new NetlinkMalformedError(`NLMSG_DONE of ${payload.length} bytes`);
  const error = viewOf(payload).getInt32(0, HOST_LITTLE_ENDIAN);
  return { error, extAck: flags & NLM_F_ACK_TLVS ? decodeAttrs(EXT_ACK, payload.subarray(4)) : [] };
}
