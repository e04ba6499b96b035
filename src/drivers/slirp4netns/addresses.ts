// Where slirp4netns puts things inside its network: fixed offsets from the network address, as
// slirp4netns documents them and podman's GetSlirp4netnsIP / GetSlirp4netnsDNS compute them.
import { formatIPv4, parseCidr } from "../../ip/codec.ts";
import { nthHost } from "../../schema/ip.ts";

export const DEFAULT_SLIRP4NETNS_CIDR = "10.0.2.0/24";

export interface Slirp4netnsAddresses {
  /** The tap's address inside the namespace. */
  ip: string;
  prefixLength: number;
  /** The default route's next hop; with allow_host_loopback it also reaches the host's 127.0.0.1. */
  gateway: string;
  /** slirp4netns's DNS forwarder, to the host's resolvers. */
  dns: string;
}

const GUEST = 100;
const GATEWAY = 2;
const DNS = 3;

/** cidr as parseSlirp4netnsOptions accepted it: an IPv4 network address with a prefix of at most 25. */
export function slirp4netnsAddresses(cidr: string = DEFAULT_SLIRP4NETNS_CIDR): Slirp4netnsAddresses {
  const network = parseCidr(cidr);
  if (network === null || network.address.length !== 4) throw new Error(`not an IPv4 network: ${cidr}`);
  return {
    ip: formatIPv4(nthHost(network, GUEST)),
    prefixLength: network.prefixLength,
    gateway: formatIPv4(nthHost(network, GATEWAY)),
    dns: formatIPv4(nthHost(network, DNS)),
  };
}
