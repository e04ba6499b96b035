// The port forwarder's configuration, as `ctrnet _rootlessport` reads it from stdin.
import * as v from "valibot";
import { ipFamily } from "../ip/codec.ts";
import { IpAddress } from "./cni-result.ts";

const PORT_TEXT = "expected a port number from 1 to 65535";
const Port = v.pipe(v.number(), v.integer(PORT_TEXT), v.minValue(1, PORT_TEXT), v.maxValue(65535, PORT_TEXT));

export const PortForward = v.pipe(
  v.strictObject({
    /** "" or "0.0.0.0": every IPv4 address; "::": every IPv6 address. Nothing wider than asked for. */
    hostIP: v.union([v.literal(""), IpAddress], "expected an IP address or \"\""),
    hostPort: Port,
    containerPort: Port,
    protocol: v.picklist(["tcp", "udp"]),
    /** How many consecutive ports, starting at hostPort and containerPort. */
    range: v.optional(v.pipe(v.number(), v.integer("expected a count of ports"), v.minValue(1, "expected a count of ports")), 1),
  }),
  v.check((p) => p.hostPort + p.range - 1 <= 65535, "hostPort + range goes past port 65535"),
  v.check((p) => p.containerPort + p.range - 1 <= 65535, "containerPort + range goes past port 65535"),
);
export type PortForward = v.InferOutput<typeof PortForward>;

export const PortForwarderConfig = v.strictObject({
  netnsPath: v.pipe(v.string(), v.nonEmpty("expected a path")),
  /** The container's address inside netnsPath that connections go to. */
  childIP: IpAddress,
  /** Its IPv6 address, if it has one: where connections to an IPv6 host address go instead. */
  childIP6: v.optional(v.pipe(v.string(), v.check((s) => ipFamily(s) === 6, "expected an IPv6 address"))),
  /**
   * What a client on the host's IPv6 loopback appears as when the address is kept, instead of the netns's IPv6
   * default gateway: where that is link-local (slirp4netns's fe80::2), its global address (fd00::2).
   */
  loopbackAs6: v.optional(v.pipe(v.string(), v.check((s) => ipFamily(s) === 6, "expected an IPv6 address"))),
  /** Connect from the client's address, so the server sees who it is (see drivers/portfwd/return-path.ts). */
  keepClientAddress: v.optional(v.boolean(), true),
  ports: v.pipe(v.array(PortForward), v.minLength(1, "expected at least one port")),
});
export type PortForwarderConfig = v.InferOutput<typeof PortForwarderConfig>;
export type PortForwarderConfigInput = v.InferInput<typeof PortForwarderConfig>;
