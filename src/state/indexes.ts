// The tables that index what records hold (schema version 6): a row per published host port or range in
// host_ports, a row per address of a connected network in addresses. Written in the transaction that
// writes the record, from the same values; read to find the few records a create's host ports or static
// address could clash with, which are then read back whole and checked as before.
import type { Database } from "bun:sqlite";
import { type NetworkStatus, statusAddresses } from "../schema/network-status.ts";
import type { PortMapping, Protocol } from "../schema/ports.ts";

/** Ports still to be chosen (host port 0) hold none. */
export function insertHostPorts(db: Database, id: string, ports: readonly PortMapping[]): void {
  const insert = db.query("INSERT INTO host_ports (container_id, protocol, host_port, port_count) VALUES (?, ?, ?, ?)");
  for (const m of ports) if (m.hostPort !== 0) insert.run(id, m.protocol, m.hostPort, m.range);
}

/**
 * The addresses an interface holds, as container/static-ip.ts counts them: its status's; before there is
 * one, on the container's first network, the static addresses it asked for (statics).
 */
export function heldAddressesOf(status: NetworkStatus | null, statics: readonly (string | null | undefined)[]): string[] {
  if (status !== null) return statusAddresses(status);
  return statics.filter((ip) => ip != null);
}

export function insertAddresses(db: Database, id: string, network: string, addresses: readonly string[]): void {
  const insert = db.query("INSERT INTO addresses (container_id, network, address) VALUES (?, ?, ?)");
  for (const address of new Set(addresses)) insert.run(id, network, address);
}

/**
 * Ids of the records with a host port of the protocol in [low, low + count), through the index on
 * (protocol, host_port): a stored range starts at most the longest stored range's length before low.
 */
export function hostPortHolders(db: Database, protocol: Protocol, low: number, count: number): string[] {
  const longest = db.query<{ n: number | null }, [string]>("SELECT max(port_count) AS n FROM host_ports WHERE protocol = ?").get(protocol)?.n;
  if (longest == null) return [];
  return db
    .query<{ id: string }, [string, number, number, number]>(
      "SELECT DISTINCT container_id AS id FROM host_ports WHERE protocol = ? AND host_port > ? AND host_port < ? AND host_port + port_count > ?",
    )
    .all(protocol, low - longest, low + count, low)
    .map((r) => r.id);
}

/** Ids of the records holding the address on the network. */
export function addressHolders(db: Database, network: string, address: string): string[] {
  return db
    .query<{ id: string }, [string, string]>("SELECT DISTINCT container_id AS id FROM addresses WHERE network = ? AND address = ?")
    .all(network, address)
    .map((r) => r.id);
}
