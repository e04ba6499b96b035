// Reading the answers to one batch: an acknowledgement for every message sent with NLM_F_ACK, and an error
// for every message the kernel refused. Kept apart from the socket so the rules can be tested on
// hand-written datagrams.
import { errnoNumber } from "../../../ffi/errno.ts";
import { attrValue } from "../attrs.ts";
import { NetlinkError } from "../errors.ts";
import { decodeErrorMessage } from "../msg-error.ts";
import { NLMSG_ERROR, NLMSG_OVERRUN, splitMessages } from "../wire.ts";
import { nftMessageName, type FramedMessage } from "./nfnl.ts";

/** One message the kernel refused. */
export interface BatchFailure {
  operation: string;
  errno: number;
  /** NFT_MSG_NEWRULE, ... */
  messageType: string;
  kernelMessage?: string;
}

/**
 * The kernel refused a batch, so it applied none of it. The error names the first refused message (its
 * operation and type, the errno, the extended-ack text); `failures` lists every refusal of the batch.
 */
export class NftBatchError extends NetlinkError {
  readonly messageType: string;
  constructor(readonly failures: readonly [BatchFailure, ...BatchFailure[]]) {
    const [first] = failures;
    super(`${first.operation} (${first.messageType})`, first.errno, first.kernelMessage);
    this.name = "NftBatchError";
    this.messageType = first.messageType;
    if (failures.length > 1) this.message += ` (and ${failures.length - 1} more refused)`;
  }
}

export class BatchAcks {
  private readonly bySeq = new Map<number, FramedMessage>();
  private readonly waiting = new Set<number>();
  private readonly errors: BatchFailure[] = [];

  constructor(messages: readonly FramedMessage[]) {
    for (const m of messages) {
      this.bySeq.set(m.seq, m);
      if (m.acked) this.waiting.add(m.seq);
    }
  }

  /** Every acknowledgement is in (an aborted batch still acknowledges the messages that were fine). */
  get complete(): boolean {
    return this.waiting.size === 0;
  }

  get failed(): boolean {
    return this.errors.length > 0;
  }

  /** Takes one datagram from the kernel; replies to other requests are skipped. */
  add(datagram: Uint8Array): void {
    for (const msg of splitMessages(datagram)) {
      const sent = this.bySeq.get(msg.seq);
      if (sent === undefined) continue;
      if (msg.type === NLMSG_OVERRUN) {
        this.errors.push({ operation: sent.operation, errno: errnoNumber("ENOBUFS"), messageType: nftMessageName(sent.type) });
        continue;
      }
      if (msg.type !== NLMSG_ERROR) continue;
      const { error, extAck } = decodeErrorMessage(msg.payload, msg.flags);
      this.waiting.delete(msg.seq);
      if (error !== 0) {
        const kernelMessage = attrValue(extAck, "message");
        this.errors.push({ operation: sent.operation, errno: -error, messageType: nftMessageName(sent.type), kernelMessage });
      }
    }
  }

  /**
   * Throws the first refusal (carrying the rest), or, when the answers ran out with acknowledgements missing
   * and no refusal, an error naming the first unanswered message.
   */
  check(): void {
    const [first, ...others] = this.errors;
    if (first !== undefined) throw new NftBatchError([first, ...others]);
    const missing = [...this.waiting][0];
    if (missing !== undefined) {
      const sent = this.bySeq.get(missing)!;
      const messageType = nftMessageName(sent.type);
      throw new NftBatchError([{ operation: sent.operation, errno: errnoNumber("ENOBUFS"), messageType, kernelMessage: "no acknowledgement" }]);
    }
  }
}
