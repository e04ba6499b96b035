// The addresses a container holds on a network, read back from its status to keep them across a re-setup.
import { ipFamily } from "../ip/codec.ts";
import { type NetworkStatus, statusAddresses } from "../schema/network-status.ts";

export interface HeldAddresses {
  ips: string[];
  mac?: string;
}

/** What the container holds on a network: every address, and the MAC of its interface there. */
export function heldAddresses(status: NetworkStatus | null): HeldAddresses {
  if (!status) return { ips: [] };
  const ips = statusAddresses(status).filter((ip) => ipFamily(ip) !== 0);
  const mac = status.interfaces.find((i) => i.addresses.length > 0 && i.mac)?.mac ?? status.interfaces.find((i) => i.mac)?.mac;
  return mac ? { ips, mac } : { ips };
}
