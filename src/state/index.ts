// Container network records and the locks around them.
export { ContainerState, openState } from "./containers.ts";
export { databasePath, runtimeDir, type StateLocation } from "./db.ts";
export { withLock, withLockSync } from "./lock.ts";
export { connectNetwork, disconnectNetwork, firstFreeIfname } from "./networks.ts";
export {
  ContainerRecord,
  NetMode,
  NetworkAttachment,
  newContainerRecord,
  type NewContainer,
  RECORD_STATES,
  type RecordState,
} from "./record.ts";
