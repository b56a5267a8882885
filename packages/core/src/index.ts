/**
 * @almanac/core: the domain (event model, sync policies, content hashes,
 * recurrence and free/busy) and the sync engine (the provider port, the planner, the store,
 * one poll, and the actor that repeats it) and the credential vault. One alphabetical list, as the linter keeps it.
 *
 * @since 0.1.0
 */
export * as CalendarActor from "./CalendarActor.js"
export * as CalendarProvider from "./CalendarProvider.js"
export * as ConditionalWrite from "./ConditionalWrite.js"
export * as ContentHash from "./ContentHash.js"
export * as CopyMapping from "./CopyMapping.js"
export * as CoreError from "./CoreError.js"
export * as CredentialVault from "./CredentialVault.js"
export * as EventModel from "./EventModel.js"
export * as FreeBusy from "./FreeBusy.js"
export * as MemoryProvider from "./MemoryProvider.js"
export * as Policy from "./Policy.js"
export * as ProviderError from "./ProviderError.js"
export * as Recurrence from "./Recurrence.js"
export * as Relationship from "./Relationship.js"
export * as StoreMigrations from "./StoreMigrations.js"
export * as SyncCycle from "./SyncCycle.js"
export * as SyncMetrics from "./SyncMetrics.js"
export * as SyncPlan from "./SyncPlan.js"
export * as SyncPlanner from "./SyncPlanner.js"
export * as SyncProgress from "./SyncProgress.js"
export * as SyncStore from "./SyncStore.js"
