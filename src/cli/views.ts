// What a --format template sees of each result: podman's Go field names (its templates' `.Name`, `.ID`,
// `.NetworkSettings.IPAddress`), while `{{json .}}` prints the JSON ctrnet prints for --format json.
import type { ArgsDef } from "citty";
import type { InspectResult } from "../lifecycle/index.ts";
import { formatNetworkMode } from "../lifecycle/index.ts";
import type { NetworkInfo } from "../networks/index.ts";
import { formatPort, type PortMapping, psPortsText } from "../schema/ports.ts";
import type { ContainerRecord } from "../state/index.ts";
import { columnHeaders, fromJson, nilSlice, stringer, struct } from "./template/index.ts";

export const templateFormatArg = {
  format: { type: "string", description: "json, or a Go template: {{.Field}}, table {{.Field}}…" },
} as const satisfies ArgsDef;

/** inspect's and network inspect's --format, with podman's -f (ls commands keep -f for --filter). */
export const inspectFormatArg = {
  format: { ...templateFormatArg.format, alias: "f" },
} as const satisfies ArgsDef;

/** Go's time.Time String(), which podman's templates print for a time field. */
export function goTime(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(new Date(iso).toISOString());
  if (!m) return iso;
  const fraction = (m[3] ?? "").replace(/0+$/, "");
  return `${m[1]} ${m[2]}${fraction ? `.${fraction}` : ""} +0000 UTC`;
}

const stringMap = (record: Record<string, string> | undefined) => new Map(Object.entries(record ?? {}));

/**
 * podman's types.Network; `network ls` shows podman's ListPrintReports, which embeds it as .Network and
 * overrides two fields: a short ID and labels as k=v,…
 */
export function networkView(n: NetworkInfo, listing?: { truncate: boolean }): object {
  const subnets = n.subnets.map((s) =>
    struct(
      {
        Subnet: s.subnet,
        Gateway: s.gateway ?? null,
        LeaseRange: s.lease_range ? struct({ StartIP: s.lease_range.start_ip ?? null, EndIP: s.lease_range.end_ip ?? null }, s.lease_range) : null,
      },
      s,
    ),
  );
  // podman's FormatLabels: key=value, by key
  const labels = Object.keys(n.labels).sort().map((k) => `${k}=${n.labels[k]}`);
  return struct(
    {
      Name: n.name,
      ID: listing?.truncate ? n.id.slice(0, 12) : n.id,
      Driver: n.driver,
      NetworkInterface: n.network_interface,
      Created: goTime(n.created),
      Subnets: subnets,
      // podman's types.Network: Routes of Destination, Gateway, Metric; NetworkDNSServers
      Routes: (n.routes ?? []).map((r) => struct({ Destination: r.destination, Gateway: r.gateway, Metric: r.metric ?? null }, r)),
      IPv6Enabled: n.ipv6_enabled,
      Internal: n.internal,
      DNSEnabled: n.dns_enabled,
      NetworkDNSServers: n.network_dns_servers ?? [],
      Labels: listing ? labels.join(",") : stringMap(n.labels),
      Options: stringMap(n.options),
      IPAMOptions: stringMap(n.ipam_options),
      ...(listing ? { Network: networkView(n) } : {}),
      // inspect's attached containers, podman 5's map by id: {{json (index .Containers "ID")}}
      ...("containers" in n ? { Containers: containersView((n as { containers: object }).containers) } : {}),
    },
    n,
  );
}

const CONTAINER_FIELDS = { name: "Name", interfaces: "Interfaces", subnets: "Subnets", ipnet: "IPNet", gateway: "Gateway", mac_address: "MacAddress" };

function containersView(containers: object): unknown {
  return fromJson(containers, { renames: CONTAINER_FIELDS, maps: ["interfaces"] }, true);
}

export const NETWORK_HEADERS = columnHeaders(
  ["Name", "ID", "Driver", "NetworkInterface", "Created", "Subnets", "IPv6Enabled", "Internal", "DNSEnabled", "Labels", "Options", "IPAMOptions"],
  { ID: "network id" },
);

const BASIC_OPTIONAL = ["SecondaryIPAddresses", "SecondaryIPv6Addresses", "AdditionalMacAddresses"];

/** podman's slice fields that JSON omits when empty (omitempty): nil slices, which Go prints `[]` (`null` as JSON). */
function fill(fields: Record<string, unknown>, names: readonly string[]): void {
  for (const name of names) if (!Object.hasOwn(fields, name)) fields[name] = nilSlice();
}

/** podman's State.Status of a container in each of ctrnet's states: its network is up while it is ready. */
const PODMAN_STATUS: Record<InspectResult["State"], string> = { creating: "created", ready: "running", degraded: "running", removing: "removing" };

/** podman's InspectContainerData, as far as ctrnet has it; its Go field is ID where the JSON says Id. */
export function inspectView(result: InspectResult): object {
  // podman's Go field is AdditionalMacAddresses where its JSON says AdditionalMACAddresses
  const view = fromJson(result, {
    renames: { Id: "ID", HostIp: "HostIP", AdditionalMACAddresses: "AdditionalMacAddresses" },
    maps: ["Ports", "Networks", "DriverOpts", "IPAMConfig", "ExposedPorts", "PortBindings"],
  }) as {
    NetworkSettings: Record<string, unknown> & { Networks?: Map<string, Record<string, unknown>> | null };
    Config: Record<string, unknown>;
    State: unknown;
  };
  // ctrnet's state word, which {{.State}} prints, with podman's fields: {{.State.Status}}, {{.State.Running}},
  // {{.State.Pid}} (the process it took its netns from, 0 without one, as podman's for a container not
  // running), and the ones a networking container never has set
  const status = PODMAN_STATUS[result.State];
  view.State = stringer(result.State, {
    Status: status,
    Running: status === "running",
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: result.Pid ?? 0,
    ExitCode: 0,
    Error: "",
  });
  delete (view as { Pid?: unknown }).Pid;
  // no exposed or published port leaves podman's ExposedPorts a nil map (map[])
  view.Config.ExposedPorts ??= new Map();
  fill(view.NetworkSettings, BASIC_OPTIONAL);
  // a nil map in podman's struct (no network by name: ns:PATH, a running pasta): Go prints it map[]
  if (!Object.hasOwn(view.NetworkSettings, "Networks")) view.NetworkSettings.Networks = new Map();
  for (const network of view.NetworkSettings.Networks?.values() ?? []) {
    fill(network, [...BASIC_OPTIONAL, "Aliases"]);
    // podman's Links []string, always nil
    if (network.Links === null) network.Links = nilSlice();
  }
  return view;
}

/** podman's inspect --format accepts {{.Id}} for the ID field (cmd/podman/inspect: inspectNormalize). */
export function normalizeInspectFormat(format: string): string {
  return format.replace(/\{\{\s*\.Id\s*\}\}/g, "{{.ID}}");
}

/** One `ctrnet ls` row: podman ps's names where it has the field (ID of 12, Ports as text, Networks). */
/** What `ls` knows beyond the record: the helper of a ready container that is gone, if one is. */
export type Degraded = { helper: string; reason: string } | undefined;

export function containerSummary(rec: ContainerRecord, degraded?: Degraded) {
  return {
    id: rec.id,
    name: rec.name,
    state: degraded ? "degraded" : rec.state,
    ...(degraded ? { degraded: degraded.reason } : {}),
    mode: formatNetworkMode(rec.mode),
    netns: rec.netns?.path ?? null,
    networks: rec.networks.map((n) => ({ network: n.network, interface: n.ifname, aliases: n.aliases })),
    ports: rec.ports.map(formatPort),
    created: new Date(rec.createdAt).toISOString(),
  };
}

export function containerView(rec: ContainerRecord, degraded?: Degraded, idLength = 12): object {
  const summary = containerSummary(rec, degraded);
  return struct(
    {
      ID: rec.id.slice(0, idLength),
      Name: rec.name ?? "",
      // podman ps's Names: the name (a ctrnet container without one, its id)
      Names: rec.name ?? rec.id,
      State: summary.state,
      Mode: summary.mode,
      // podman ps's Networks: the names, comma-separated
      Networks: rec.networks.map((n) => n.network).join(","),
      Interfaces: rec.networks.map((n) => n.ifname),
      // podman ps's PORTS, exposed ports nothing publishes included
      Ports: psPortsText(rec.ports, rec.exposed),
      Netns: summary.netns ?? "",
      Created: goTime(summary.created),
    },
    summary,
  );
}

export const CONTAINER_HEADERS = columnHeaders(["ID", "Name", "Names", "State", "Mode", "Networks", "Interfaces", "Ports", "Netns", "Created"], {
  ID: "container id",
});

/** podman's types.PortMapping, whose JSON keys are snake_case. */
export function portJson(m: PortMapping) {
  return { host_ip: m.hostIP, container_port: m.containerPort, host_port: m.hostPort, range: m.range, protocol: m.protocol };
}

export function portView(m: PortMapping): object {
  return struct({ HostIP: m.hostIP, ContainerPort: m.containerPort, HostPort: m.hostPort, Range: m.range, Protocol: m.protocol }, portJson(m));
}

export const PORT_HEADERS = columnHeaders(["HostIP", "ContainerPort", "HostPort", "Range", "Protocol"], { HostIP: "host ip" });
