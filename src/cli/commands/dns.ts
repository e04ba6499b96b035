// Hidden: ctrnet's DNS server for container names (`ctrnet _dns --config FILE`). Runs until SIGTERM; SIGHUP
// re-reads FILE. Logs go to stderr; --log-level info shows each (re)load.
import { defineCommand } from "citty";
import { runDnsHelper } from "../../drivers/dns/index.ts";
import { UsageError } from "../../errors.ts";
import { log } from "../../log.ts";

export default defineCommand({
  meta: { name: "_dns", description: "DNS server for container names (internal)" },
  args: {
    config: { type: "string", description: "JSON configuration: networks, gateways, subnets, containers", required: true },
  },
  async run({ args }) {
    if (!args.config) throw new UsageError("_dns: --config FILE is required");
    await runDnsHelper(args.config, {
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
      error: (m) => log.error(m),
    });
  },
});
