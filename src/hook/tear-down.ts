// poststop: the container's network goes, by container id, whether or not its process still exists
// (the netns was kept by a bind mount at createRuntime, and the lifecycle's teardown stands in for a
// vanished one; a rootless runtime's container had only its process and slirp4netns keep it, so what
// goes then are the helpers, stopped by pid, and the record). An id ctrnet holds nothing for is no error: the hook may be installed for containers
// it never configured, and poststop may be called twice.
import { existsSync } from "../../ffi/fs.ts";
import { NAME_PATTERN } from "../names.ts";
import { databasePath } from "../state/index.ts";
import { type Context, removeContainer } from "../lifecycle/index.ts";
import { ErrorList } from "../errors.ts";
import { log } from "../log.ts";
import { restoreRootfsEtc } from "./rootfs-etc.ts";
import { recordOf } from "./lookup.ts";

export async function tearDownContainer(ctx: Context, id: string): Promise<void> {
  // createRuntime refuses such ids, so nothing of it can exist.
  if (!NAME_PATTERN.test(id)) return;
  const errors: unknown[] = [];
  try {
    restoreRootfsEtc(ctx, id);
  } catch (err) {
    errors.push(err);
  }
  // No database: ctrnet never configured anything here, and opening one would create it.
  if (existsSync(databasePath(ctx.runtimeDir)) && recordOf(ctx, id)) {
    try {
      await removeContainer(ctx, id, { force: true });
      log.info(`container "${id}": network removed`);
    } catch (err) {
      errors.push(err);
    }
  }
  ErrorList.throwIfAny(`poststop of container "${id}"`, errors);
}
