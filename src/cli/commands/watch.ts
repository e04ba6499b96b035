import { type ArgsDef, defineCommand } from "citty";
import { mkdirSync, writeFileSync } from "../../../ffi/fs.ts";
import { join } from "node:path";
import { print } from "../output.ts";
import { selfBinary } from "../self.ts";
import { CtrnetError, UsageError } from "../../errors.ts";
import { hostUid } from "../../identity.ts";
import { runtimeDir } from "../../state/runtime-dir.ts";
import { globalArgs, rejectUnknownOptions } from "../args.ts";

const UNIT_NAME = "ctrnet-watch.service";

const args = {
  ...globalArgs,
  root: { type: "string", description: "runtime state directory, where the attachments' records are (env CTRNET_ROOT; default /run/ctrnet)" },
  "install-unit": { type: "boolean", description: `write a systemd unit (${UNIT_NAME}) that runs this command, and exit` },
  dir: { type: "string", description: "where --install-unit writes the unit (default /etc/systemd/system)" },
} as const satisfies ArgsDef;

/** systemd quotes a word with spaces or quotes in double quotes, with backslash escapes. */
function unitWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function unitText(binary: string, root: string | undefined): string {
  const command = [binary, ...(root ? ["--root", root] : []), "watch"].map(unitWord).join(" ");
  return [
    "[Unit]",
    "Description=ctrnet: rebuild the inet ctrnet nftables table after a ruleset flush or firewall reload",
    "After=nftables.service firewalld.service",
    "",
    "[Service]",
    `ExecStart=${command}`,
    "Restart=on-failure",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

export default defineCommand({
  meta: {
    name: "watch",
    description: "Keep ctrnet's nftables table whole: rebuild it from the records within a second after nft flush ruleset or a firewall reload",
  },
  args,
  async run({ args: values, rawArgs }) {
    rejectUnknownOptions(rawArgs, args);
    const root = values.root || process.env.CTRNET_ROOT || undefined;
    if (values["install-unit"]) {
      const dir = values.dir || "/etc/systemd/system";
      const path = join(dir, UNIT_NAME);
      const text = unitText(selfBinary("watch --install-unit"), root);
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(path, text, { mode: 0o644 });
      } catch (err) {
        throw new CtrnetError(`cannot write ${path}: ${(err as Error).message}`);
      }
      print(`${path}\n`);
      return;
    }
    if (values.dir !== undefined) throw new UsageError("--dir goes with --install-unit");
    // a rootless user's table lives in the rootless netns, which is made again with its firewall anyway
    if (hostUid() !== 0) throw new UsageError("ctrnet watch is for root: it watches the host's nftables ruleset");
    const { watchFirewall } = await import("../../drivers/bridge/watch.ts");
    const stop = new AbortController();
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stop.abort());
    await watchFirewall({
      root: runtimeDir({ root }),
      signal: stop.signal,
      onRebuild: ({ networks, ports, forwardRules, cause }) =>
        print(
          forwardRules
            ? `added ${forwardRules} accept rules to iptables FORWARD (changed by ${cause})\n`
            : `rebuilt table inet ctrnet: ${networks} networks, ${ports} ports (changed by ${cause})\n`,
        ),
    });
  },
});
