// A requested address another container already holds on the same network is bad input, found before
// IPAM would refuse it half-way through a setup.
import { UsageError } from "../errors.ts";
import { type ContainerRecord, type NetworkAttachment, staticsOf } from "../state/index.ts";
import { heldAddresses } from "./addresses.ts";

export function checkAddressFree(records: readonly ContainerRecord[], network: string, ip: string): void {
  for (const rec of records) {
    const attachment = rec.networks.find((n) => n.network === network);
    if (!attachment) continue;
    if (held(rec, attachment).includes(ip)) {
      // podman's words (netavark's IPAM error)
      throw new UsageError(`IPAM error: requested ip address ${ip} is already allocated to container ID ${rec.id} on network "${network}"`);
    }
  }
}

/** Addresses from the status; before there is one, the address the record asked for. */
function held(rec: ContainerRecord, attachment: NetworkAttachment): string[] {
  if (attachment.status === null) return staticsOf(rec, attachment);
  return heldAddresses(attachment.status).ips;
}
