import { defineCommand } from "citty";
import { COMMIT, VERSION } from "../../version.ts";

export default defineCommand({
  meta: { name: "version", description: "Print the ctrnet version" },
  args: { format: { type: "string", description: "text or json" } },
  run({ args }) {
    if (args.format === "json") {
      process.stdout.write(`${JSON.stringify({ version: VERSION, commit: COMMIT, bun: Bun.version })}\n`);
    } else {
      process.stdout.write(`ctrnet version ${VERSION} (${COMMIT}, bun ${Bun.version})\n`);
    }
  },
});
