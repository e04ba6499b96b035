// What each plugin of a list reads on stdin: its own keys, the list's name and version, prevResult, and
// runtimeConfig holding only the capabilities it declared.
import { describe, expect, test } from "bun:test";
import { parseNetworkConfig } from "../../src/drivers/cni/config.ts";
import type { PluginConf } from "../../src/schema/cni.ts";
import { buildPluginConfig, runtimeConfigFor } from "../../src/drivers/cni/plugin-config.ts";

const network = parseNetworkConfig(
  JSON.stringify({
    cniVersion: "1.0.0",
    name: "mynet",
    plugins: [
      { type: "bridge", name: "ignored", cniVersion: "0.3.1", bridge: "cni0", capabilities: { ips: true, mac: false }, ipam: { type: "host-local" } },
      { type: "portmap", capabilities: { portMappings: true }, runtimeConfig: { portMappings: [] }, snat: true },
      { type: "tuning" },
    ],
  }),
  "test.conflist",
);
const [bridge, portmap, tuning] = [0, 1, 2].map((i) => network.plugins[i]!) as [PluginConf, PluginConf, PluginConf];

const capabilityArgs = {
  portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
  ips: ["10.88.0.9/16"],
  mac: "02:00:00:00:00:09",
  aliases: { mynet: ["web"] },
  bandwidth: { ingressRate: 1000 },
};

describe("runtimeConfigFor", () => {
  test("passes only declared, enabled capabilities that the runtime has values for", () => {
    expect(runtimeConfigFor(bridge, capabilityArgs)).toEqual({ ips: ["10.88.0.9/16"] });
    expect(runtimeConfigFor(portmap, capabilityArgs)).toEqual({ portMappings: capabilityArgs.portMappings });
    expect(runtimeConfigFor(tuning, capabilityArgs)).toBeUndefined();
    expect(runtimeConfigFor(portmap, { ips: ["10.0.0.1/8"] })).toBeUndefined();
    expect(runtimeConfigFor({ type: "x", capabilities: { ipRanges: true, bandwidth: true } }, capabilityArgs)).toEqual({
      bandwidth: { ingressRate: 1000 },
    });
  });
});

describe("buildPluginConfig", () => {
  test("the list's name and cniVersion replace the plugin's own; plugin keys are kept", () => {
    const config = buildPluginConfig(network, bridge, { capabilityArgs });
    expect(config).toEqual({
      type: "bridge",
      name: "mynet",
      cniVersion: "1.0.0",
      bridge: "cni0",
      capabilities: { ips: true, mac: false },
      ipam: { type: "host-local" },
      runtimeConfig: { ips: ["10.88.0.9/16"] },
    });
  });

  test("prevResult when chaining; a plugin's own runtimeConfig stays when the runtime has nothing for it", () => {
    const prevResult = { cniVersion: "1.0.0", ips: [{ address: "10.88.0.2/16" }], dns: {} };
    const config = buildPluginConfig(network, portmap, { prevResult, capabilityArgs: {} });
    expect(config.prevResult).toEqual(prevResult);
    expect(config.runtimeConfig).toEqual({ portMappings: [] });
    expect(config.snat).toBe(true);
    expect(buildPluginConfig(network, portmap, { capabilityArgs }).runtimeConfig).toEqual({ portMappings: capabilityArgs.portMappings });
  });

  test("injected keys (GC's valid attachments) go at the top level; no prevResult or runtimeConfig unless given", () => {
    const inject = { "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }] };
    expect(buildPluginConfig(network, tuning, { inject })).toEqual({ type: "tuning", name: "mynet", cniVersion: "1.0.0", ...inject });
  });
});
