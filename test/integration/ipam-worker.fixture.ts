// A process of its own doing ctrnet IPAM calls, so tests can run ctrnet beside host-local processes
// and have either side wait on the other's lock. argv[2]: JSON { op, dataDir, network, rangeSets,
// containerIds, ifName, requested? }; prints one JSON array: per container, its addresses or its error.
import { allocate, release } from "../../src/drivers/ipam/index.ts";

const job = JSON.parse(process.argv[2]!);
const out = (job.containerIds as string[]).map((containerId) => {
  const request = { dataDir: job.dataDir, network: job.network, containerId, ifName: job.ifName };
  try {
    if (job.op === "release") return { containerId, released: release(request).map((l) => l.ip) };
    return { containerId, addresses: allocate({ ...request, rangeSets: job.rangeSets, requested: job.requested }).map((a) => a.address) };
  } catch (err) {
    return { containerId, error: (err as Error).message };
  }
});
process.stdout.write(JSON.stringify(out));
