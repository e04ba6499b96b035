// Which JIT policy each command runs under (src/cli/jit.ts, main.ts jitPolicyFor): one container's attach
// and detach keep the binary's interpreter-only start, the daemons get the normal policy, every other
// command (which may walk every record) the thresholds times 8.
import { describe, expect, test } from "bun:test";
import { LOOPING_POLICY } from "../../src/cli/jit.ts";
import { jitPolicyFor } from "../../src/cli/main.ts";

describe("JIT policy by command", () => {
  test("attach and detach of one container keep the start's; daemons 1; walks of every record 8", () => {
    for (const path of [["create"], ["rm"], ["run"], ["hook", "createRuntime"], ["hook", "poststop"], ["connect"], ["disconnect"], ["container", "create"], ["container", "rm"]]) {
      expect({ path, policy: jitPolicyFor(path) }).toEqual({ path, policy: undefined });
    }
    for (const path of [["_dns"], ["_rootlessport"], ["_supervise"], ["_pause"], ["_hook-wait"], ["watch"]]) {
      expect({ path, policy: jitPolicyFor(path) }).toEqual({ path, policy: 1 });
    }
    for (const path of [["gc"], ["reload"], ["ls"], ["ps"], ["inspect"], ["network", "ls"], ["network", "rm"], ["container", "ls"], []]) {
      expect({ path, policy: jitPolicyFor(path) }).toEqual({ path, policy: LOOPING_POLICY });
    }
  });
});
