// Reading the replies to one request: which messages belong to it, when it is complete, and what its
// errors mean. Kept apart from the socket so the rules can be tested on hand-written datagrams.
import { errnoNumber } from "../../ffi/errno.ts";
import { attrValue } from "./attrs.ts";
import { NetlinkDumpInterruptedError, NetlinkError } from "./errors.ts";
import { decodeDoneMessage, decodeErrorMessage } from "./msg-error.ts";
import { NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, splitMessages } from "./wire.ts";

export class ReplyCollector<T> {
  readonly replies: T[] = [];
  private interrupted = false;

  /** `operation` names the request in errors, e.g. `add link "veth0"`. */
  constructor(
    private readonly operation: string,
    private readonly seq: number,
    private readonly decode: (payload: Uint8Array) => T,
  ) {}

  /**
   * Takes one datagram from the kernel. Returns true once the request is answered: by the acknowledgement
   * (NLMSG_ERROR with errno 0) or, for a dump, by NLMSG_DONE. Throws the kernel's error as a NetlinkError.
   */
  add(datagram: Uint8Array): boolean {
    for (const msg of splitMessages(datagram)) {
      // Left over from an earlier request that failed part-way through its replies.
      if (msg.seq !== this.seq) continue;
      if (msg.flags & NLM_F_DUMP_INTR) this.interrupted = true;
      switch (msg.type) {
        case NLMSG_NOOP:
          break;
        case NLMSG_ERROR: {
          const { error, extAck } = decodeErrorMessage(msg.payload, msg.flags);
          if (error !== 0) throw new NetlinkError(this.operation, -error, attrValue(extAck, "message"));
          return true;
        }
        case NLMSG_DONE: {
          const { error, extAck } = decodeDoneMessage(msg.payload, msg.flags);
          if (error !== 0) throw new NetlinkError(this.operation, -error, attrValue(extAck, "message"));
          if (this.interrupted) throw new NetlinkDumpInterruptedError(this.operation);
          return true;
        }
        case NLMSG_OVERRUN:
          throw new NetlinkError(this.operation, errnoNumber("ENOBUFS"));
        default:
          this.replies.push(this.decode(msg.payload));
      }
    }
    return false;
  }
}
