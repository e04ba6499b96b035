// Every persistent byte of ctrnet: container records in SQLite, and the locks around them.
export { ContainerState, DamagedRecordError, noSuchContainer, openState, type RebuildRecords } from "./containers.ts";
export { databasePath, runtimeDir, type StateLocation } from "./db.ts";
export { withLock, withLockSync } from "./lock.ts";
export {
  ContainerRecord,
  type HelperKind,
  NetMode,
  NetworkAttachment,
  RECORD_STATES,
  type RecordState,
  staticMACOf,
  staticsOf,
} from "./record.ts";
