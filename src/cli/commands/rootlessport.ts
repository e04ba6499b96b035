// Hidden: the port forwarder child that startPortForwarder spawns. Config on stdin, exit fd 3, ready fd 4;
// a failure is one human-readable line on stdout (the parent shows it), the debug log goes to stderr.
import { defineCommand } from "citty";
import { print } from "../output.ts";
import { runForwarder } from "../../drivers/portfwd/forwarder.ts";
import { errorMessage } from "../../errors.ts";
import { log } from "../../log.ts";

export default defineCommand({
  meta: { name: "_rootlessport", description: "Port forwarder child (internal)" },
  async run() {
    try {
      await runForwarder({ config: await Bun.stdin.text(), debug: (m) => log.debug(m) });
    } catch (err) {
      // The parent shows stdout to the user; rethrowing also logs it and sets the exit code.
      print(`${errorMessage(err)}\n`);
      throw err;
    }
  },
});
