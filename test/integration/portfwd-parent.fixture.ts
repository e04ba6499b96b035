// A parent that starts a port forwarder, prints its pid and then waits to be killed: the forwarder must notice
// its parent's death through the exit fd alone. Usage: bun portfwd-parent.fixture.ts BINARY CONFIG_JSON
import { startPortForwarder } from "../../src/drivers/portfwd/index.ts";

const [binary, config] = process.argv.slice(2);
const fwd = await startPortForwarder({ binary: binary!, ...JSON.parse(config!) });
process.stdout.write(`${fwd.pid}\n`);
setInterval(() => {}, 1 << 30);
