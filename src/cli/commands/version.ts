import { defineCommand } from "citty";
import { print } from "../output.ts";
import { COMMIT, VERSION } from "../../version.ts";

export default defineCommand({
  meta: { name: "version", description: "Print the ctrnet version" },
  args: { format: { type: "string", description: "text or json" } },
  run({ args }) {
    if (args.format === "json") {
      print(`${JSON.stringify({ version: VERSION, commit: COMMIT, bun: Bun.version })}\n`);
    } else {
      print(`ctrnet version ${VERSION} (${COMMIT}, bun ${Bun.version})\n`);
    }
  },
});
